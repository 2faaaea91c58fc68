"""The ceiling: a bare paho MQTT 5 subscriber that acknowledges each message on receipt and
only counts. Resumes the persistent session named by --client-id, prints ``connected`` on
CONNACK and ``done <count>`` once --count messages arrived, then waits to be terminated.

Run by bench_ingest.py: ``python bench/bare_subscriber.py --port P --client-id ID --count N``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--receive-maximum", type=int, default=5000)
    args = p.parse_args()
    received = 0
    stop = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=args.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )

    def on_connect(*_args: Any) -> None:
        print("connected", flush=True)

    def on_message(c: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        c.ack(msg.mid, msg.qos)
        received += 1
        if received == args.count:
            print(f"done {received}", flush=True)

    client.on_connect = on_connect
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 7 * 24 * 3600
    props.ReceiveMaximum = args.receive_maximum
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client.connect("127.0.0.1", args.port, clean_start=False, properties=props)
    client.loop_start()
    stop.wait()
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
