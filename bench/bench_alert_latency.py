"""Alert latency: from the MQTT publish of a breaching reading to the alert message on
``shelters/{code}/alerts``, p50 and p99, under a background load of readings; beside it, in
the same run and under the same load, the bare MQTT round trip through the same broker.

    .venv/bin/python bench/bench_alert_latency.py [--probes 100] [--load 5000] [--sensors 1000]

Starts its own Mosquitto, a fresh PostgreSQL database with a registered fleet, a fresh
InfluxDB database (through the nginx rewrite on 8087) and one ``shelterwatch ingest`` process;
removes all of it at the end. Target: alert p50 under 30 ms and p99 under 100 ms at 5,000
readings/s (docs/capacity.md, "Alert latency").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import PYTHON, Resources, free_port, ingester_env, wait_until


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Load(threading.Thread):
    """Publishes ``rate`` ordinary readings per second in messages of ``batch`` readings."""

    def __init__(self, port: int, sensors: list[tuple[str, str]], rate: int, batch: int = 10):
        super().__init__(daemon=True)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-load", protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.sensors = sensors
        self.rate = rate
        self.batch = batch
        self.stop_event = threading.Event()
        self.sent = 0

    def run(self) -> None:
        per_s = self.rate / self.batch
        started = time.perf_counter()
        n = 0
        while not self.stop_event.is_set():
            code, sensor = self.sensors[n % len(self.sensors)]
            now_ms = int(time.time() * 1000)
            payload = [
                {
                    "ts": now_ms - k,
                    "temperature": 18.0 + random.random(),
                    "humidity": 60.0 + random.random(),
                }
                for k in range(self.batch)
            ]
            self.client.publish(f"shelters/{code}/{sensor}/telemetry", json.dumps(payload), qos=1)
            n += 1
            self.sent += self.batch
            delay = started + n / per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
        self.client.disconnect()
        self.client.loop_stop()


class Probe:
    """Publishes breaching/normal readings on one sensor and times the alert messages."""

    def __init__(self, port: int, code: str, sensor: str) -> None:
        self.code, self.sensor = code, sensor
        self.arrivals: dict[tuple[str, str], float] = {}
        self.echo: dict[str, float] = {}
        self.lock = threading.Condition()
        self.sub = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-probe-sub",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.sub.on_message = self._on_message
        self.sub.connect("127.0.0.1", port)
        self.sub.subscribe([(f"shelters/{code}/alerts", 1), ("bench/echo", 1)])
        self.sub.loop_start()
        self.pub = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-probe-pub",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.pub.connect("127.0.0.1", port)
        self.pub.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        at = time.perf_counter()
        with self.lock:
            if msg.topic == "bench/echo":
                self.echo[msg.payload.decode()] = at
            else:
                p = json.loads(msg.payload)["payload"]
                if p["sensor"] == self.sensor and p["rule"] == "fire_risk_critical":
                    self.arrivals.setdefault((str(p["alert_id"]), p["event"]), at)
            self.lock.notify_all()

    def alert(self, breach: bool, timeout: float = 10.0) -> float | None:
        event = "raised" if breach else "cleared"
        with self.lock:
            before = {k for k in self.arrivals if k[1] == event}
        payload = {
            "ts": int(time.time() * 1000),
            "temperature": 21.0,
            "fire_risk": 95.0 if breach else 5.0,
        }
        sent = time.perf_counter()
        self.pub.publish(
            f"shelters/{self.code}/{self.sensor}/telemetry", json.dumps(payload), qos=1
        )
        deadline = sent + timeout
        with self.lock:
            while True:
                new = [self.arrivals[k] for k in self.arrivals if k[1] == event and k not in before]
                if new:
                    return (min(new) - sent) * 1000
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return None
                self.lock.wait(remaining)

    def round_trip(self, i: int, timeout: float = 5.0) -> float | None:
        key = f"echo-{i}"
        sent = time.perf_counter()
        self.pub.publish("bench/echo", key, qos=1)
        with self.lock:
            while key not in self.echo:
                remaining = sent + timeout - time.perf_counter()
                if remaining <= 0:
                    return None
                self.lock.wait(remaining)
            return (self.echo[key] - sent) * 1000

    def close(self) -> None:
        for c in (self.sub, self.pub):
            c.disconnect()
            c.loop_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--load", type=int, default=5000, help="background readings/s")
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--batch-ms", type=int, default=50, help="ingester batch interval")
    args = parser.parse_args()
    res = Resources()
    try:
        broker = res.start_broker()
        pg_url, placed = res.pg_fleet(args.sensors + 1)
        influx_db = res.influx_db("latency")
        probe_code, probe_sensor = placed[0]
        http_port = free_port()
        env = ingester_env(
            pg_url=pg_url,
            broker_port=broker.port,
            client_id="shelterwatch-latency",
            influx_db=influx_db,
            workdir=res.workdir,
        )
        res.spawn([PYTHON, "-m", "api.processes.cli", "ingest", "--port", str(http_port)], env)

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "the ingester to be ready")
        probe = Probe(broker.port, probe_code, probe_sensor)
        load = Load(broker.port, placed[1:], args.load)
        load.start()
        time.sleep(5)  # let the load settle
        alert_ms: list[float] = []
        echo_ms: list[float] = []
        missed = 0
        started = time.perf_counter()
        for i in range(args.probes):
            for breach in (True, False):
                ms = probe.alert(breach)
                if ms is None:
                    missed += 1
                else:
                    alert_ms.append(ms)
            rt = probe.round_trip(i)
            if rt is not None:
                echo_ms.append(rt)
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        load_rate = load.sent / (time.perf_counter() - started + 5)
        load.stop()
        probe.close()
        a50, a99 = percentile(alert_ms, 50), percentile(alert_ms, 99)
        e50, e99 = percentile(echo_ms, 50), percentile(echo_ms, 99)
        print(f"background load: {load_rate:,.0f} readings/s offered over {elapsed:.0f} s")
        print(f"alert transitions timed: {len(alert_ms)} (missed {missed})")
        print(f"{'':34}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
        print(
            f"{'publish → alert on shelters/…/alerts':34}{a50:>10.1f}{a99:>10.1f}"
            f"{statistics.fmean(alert_ms):>10.1f}"
        )
        print(
            f"{'bare MQTT round trip (baseline)':34}{e50:>10.1f}{e99:>10.1f}"
            f"{statistics.fmean(echo_ms):>10.1f}"
        )
        print(
            f"ratio alert/baseline: p50 {a50 / e50:.1f}x, p99 {a99 / e99:.1f}x; "
            f"target p50 < 30 ms, p99 < 100 ms: {'met' if a50 < 30 and a99 < 100 else 'NOT met'}"
        )
        return 0
    finally:
        res.close()


if __name__ == "__main__":
    sys.exit(main())
