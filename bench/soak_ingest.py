"""Soak: one ``shelterwatch ingest`` process under a steady stream, watching its memory.

Run: ``python bench/soak_ingest.py [--minutes 10] [--rate 2000]``. Same services as
bench_ingest.py (its own Mosquitto on a free port, fresh PostgreSQL and InfluxDB databases,
all removed at the end). Publishes ``--rate`` readings per second at QoS 1 for ``--minutes``,
samples every ``--sample-s`` seconds the ingester's RSS, its CPU use, and the lag (readings
acknowledged by the broker to the publisher but not yet counted in InfluxDB), then prints the
series, the mean RSS of the first and the last minute and their ratio (flat is about 1.0), and
checks that every published reading was stored.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import harness
from harness import Resources, Watched


@dataclass
class Sample:
    t: float
    rss_mb: float
    cpu_pct: float
    published: int
    stored: int

    @property
    def lag(self) -> int:
        return self.published - self.stored


class Stream(threading.Thread):
    """Publishes `rate` readings a second, one per message, round-robin over the sensors,
    each sensor's timestamps strictly increasing (so InfluxDB counts every reading)."""

    def __init__(self, port: int, sensors: Sequence[tuple[str, str]], rate: int) -> None:
        super().__init__(daemon=True)
        self.publisher = harness.RawPublisher(port)
        self.sensors = sensors
        self.rate = rate
        self.stop_event = threading.Event()
        self.last_ts = [0] * len(sensors)
        self.failure: BaseException | None = None

    def _messages(self, first: int, count: int) -> list[tuple[str, bytes]]:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        out = []
        for i in range(first, first + count):
            k = i % len(self.sensors)
            shelter, sensor = self.sensors[k]
            ts = self.last_ts[k] = max(now_ms, self.last_ts[k] + 1)
            payload = {"ts": ts, "temperature": 18.0 + i % 13 * 0.5, "humidity": 40.0 + i % 40}
            out.append((f"shelters/{shelter}/{sensor}/telemetry", json.dumps(payload).encode()))
        return out

    def run(self) -> None:
        started = time.perf_counter()
        try:
            while not self.stop_event.wait(0.05):
                due = int((time.perf_counter() - started) * self.rate)
                if due > self.publisher.sent:
                    sent = self.publisher.sent
                    self.publisher.publish(self._messages(sent, due - sent))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.failure = exc

    @property
    def acked(self) -> int:
        return self.publisher.acked


def soak(args: argparse.Namespace, res: Resources) -> list[Sample]:
    broker = res.start_broker()
    pg_url, sensors = res.pg_fleet(args.sensors)
    db = res.influx_db("soak")
    client_id = f"shelterwatch-soak-{uuid.uuid4().hex[:8]}"
    harness.create_session(broker.port, client_id, harness.TOPIC_FILTER)
    env = harness.ingester_env(
        pg_url=pg_url,
        broker_port=broker.port,
        client_id=client_id,
        influx_db=db,
        workdir=res.workdir,
    )
    argv = [harness.PYTHON, "-m", "api.processes.cli", "ingest", "--port", str(harness.free_port())]
    ingester = Watched(res.spawn(argv, env), res.workdir / "soak.log", b"connected to MQTT")
    if not ingester.marked.wait(60):
        raise RuntimeError(f"ingester did not connect; log tail:\n{ingester.tail()}")
    stream = Stream(broker.port, sensors, args.rate)
    print(f"{len(sensors):,} sensors, {args.rate:,} readings/s for {args.minutes} min")
    print(f"{'t s':>6}{'RSS MB':>9}{'CPU %':>7}{'published':>11}{'stored':>11}{'lag':>8}")
    samples: list[Sample] = []
    started = time.perf_counter()
    stream.start()
    cpu_before, t_before = harness.cpu_seconds(ingester.tree()), started
    end = started + args.minutes * 60
    while (now := time.perf_counter()) < end:
        time.sleep(min(args.sample_s, max(0.0, end - now)))
        now = time.perf_counter()
        tree = ingester.tree()
        cpu = harness.cpu_seconds(tree)
        stored = harness.influx_count(db)  # before `published`: the lag is never negative
        sample = Sample(
            t=now - started,
            rss_mb=harness.rss_mb(tree),
            cpu_pct=(cpu - cpu_before) / (now - t_before) * 100,
            published=stream.acked,
            stored=stored,
        )
        cpu_before, t_before = cpu, now
        samples.append(sample)
        print(
            f"{sample.t:6.0f}{sample.rss_mb:9.1f}{sample.cpu_pct:7.0f}{sample.published:11,}"
            f"{sample.stored:11,}{sample.lag:8,}",
            flush=True,
        )
        if stream.failure is not None or ingester.proc.poll() is not None:
            raise RuntimeError(f"stream or ingester failed; log tail:\n{ingester.tail()}")
    stream.stop_event.set()
    stream.join(10)
    stream.publisher.wait_acked()
    published = stream.publisher.sent
    stream.publisher.close()
    drain_started = time.perf_counter()
    harness.wait_until(lambda: harness.influx_count(db) >= published, 120, "the stream stored")
    drained = time.perf_counter() - drain_started
    stored = harness.influx_count(db)
    print(
        f"\nstream stopped; all stored {drained:.1f} s later: "
        f"{published:,} published, {stored:,} stored"
    )
    print(f"peak RSS {harness.peak_rss_mb(ingester.tree()):.1f} MB")
    harness.stop_process(ingester.proc)
    return samples


def summary(samples: Sequence[Sample], minutes: float) -> None:
    total = minutes * 60
    first = [s.rss_mb for s in samples if s.t <= 60.5] or [samples[0].rss_mb]
    last = [s.rss_mb for s in samples if s.t >= total - 60.5] or [samples[-1].rss_mb]
    first_mean, last_mean = statistics.mean(first), statistics.mean(last)
    lags = [s.lag for s in samples]
    cpu = statistics.mean(s.cpu_pct for s in samples)
    ratio = last_mean / first_mean
    print(
        f"RSS first minute {first_mean:.1f} MB, last minute {last_mean:.1f} MB, ratio {ratio:.3f}"
    )
    print(
        f"lag (published - stored) at samples: mean {statistics.mean(lags):,.0f}, max {max(lags):,}"
    )
    print(f"ingester CPU mean {cpu:.0f} % of a core")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--rate", type=int, default=2000, help="readings per second")
    p.add_argument("--sensors", type=int, default=1000)
    p.add_argument("--sample-s", type=float, default=10)
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = p.parse_args(argv)
    res = Resources(keep_workdir=args.keep)
    try:
        samples = soak(args, res)
    except (RuntimeError, TimeoutError) as exc:
        print(f"soak failed: {exc}", file=sys.stderr)
        res.keep_workdir = True
        print(f"logs kept in {res.workdir}", file=sys.stderr)
        return 1
    finally:
        res.close()
    summary(samples, args.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
