"""Naive reference ingester: paho + influxdb-client's batching write API, as a tutorial would
write it. Parses JSON, builds ``Point`` objects, writes with the default batching
``WriteOptions`` (1,000 points or 1 s) and lets paho acknowledge each message on receipt,
i.e. *before* the reading is stored: a crash loses whatever sits in the batch buffer. No
register lookup, no validation, no enrichment. Prints ``connected`` on CONNACK.

Run by bench_ingest.py: ``python bench/naive_ingest.py --port P --client-id ID --bucket DB``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import WriteOptions
from influxdb_client.domain.write_precision import WritePrecision
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

FIELDS = ("temperature", "humidity", "fire_risk", "co", "battery")
# influxdb-client is untyped; its objects are handled as Any.
_Client: Any = InfluxDBClient
_Point: Any = Point


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--influx-url", default="http://127.0.0.1:8087")
    p.add_argument("--bucket", required=True)
    p.add_argument("--token", default="")
    args = p.parse_args()
    stop = threading.Event()
    influx = _Client(url=args.influx_url, token=args.token, org="o")
    write_api = influx.write_api(
        write_options=WriteOptions(),
        success_callback=lambda *_: None,
        error_callback=lambda _conf, _data, exc: print(f"write failed: {exc}", file=sys.stderr),
    )

    def on_message(_c: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        _, shelter, sensor, _ = msg.topic.split("/")
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        points = []
        for obj in doc if isinstance(doc, list) else [doc]:
            point = _Point("shelter_env").tag("shelter", shelter).tag("sensor", sensor)
            for name in FIELDS:
                if obj.get(name) is not None:
                    point.field(name, float(obj[name]))
            points.append(point.time(int(obj["ts"]), WritePrecision.MS))
        write_api.write(bucket=args.bucket, record=points)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_connect = lambda *_: print("connected", flush=True)
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 7 * 24 * 3600
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client.connect("127.0.0.1", args.port, clean_start=False, properties=props)
    client.loop_start()
    stop.wait()
    client.disconnect()
    client.loop_stop()
    write_api.close()
    influx.close()


if __name__ == "__main__":
    main()
