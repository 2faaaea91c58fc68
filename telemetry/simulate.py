"""The simulator's MQTT publisher: sends a simulated fleet's readings (`telemetry.sim_model`)
by the device contract (`telemetry.payload`), QoS 1, for demos, tests and benchmarks.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.errors import BrokerUnreachable, InvalidSetting
from telemetry.mqtt import BrokerAddress
from telemetry.sim_model import (
    FireEvent,
    Fleet,
    Malformation,
    SimSensor,
    draw,
    malformed,
)

CONFIRM_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class PublishStats:
    """Messages confirmed by the broker (PUBACK) and the valid readings they carried."""

    messages: int
    readings: int
    malformed: int = 0


@dataclass(slots=True)
class _Message:
    topic: str
    payload: bytes
    readings: int


class Simulator:
    """Publishes a `Fleet`'s readings to an MQTT broker with QoS 1.

    ``rate_per_s`` None: each sensor at its own interval divided by ``time_scale``, values
    taken at simulated time (``time_scale`` times faster than real time, from the start of
    `run`) but stamped with the real time, so nothing is ever stamped in the future.
    Otherwise messages go out at ``rate_per_s``, sensors in turn. Each message carries
    ``batch`` readings of one sensor (a JSON array when > 1, like a buffering gateway); every
    ``malformed_every``-th message is a broken one (`Malformation`, in rotation).
    ``fire_shelter`` catches fire when `run` starts. The ``silent_fraction`` of sensors chosen
    by `Fleet.silent` stop after ``silent_after_s`` seconds of a run. A sensor's readings get
    distinct millisecond stamps, so beyond 1,000 readings per second per sensor they drift
    ahead of real time: use more sensors. At most ``max_pending`` messages are unconfirmed
    at once. ``stop`` may be called from any thread.
    """

    def __init__(
        self,
        address: BrokerAddress,
        *,
        fleet: Fleet,
        protocol: str = "5",
        rate_per_s: float | None = None,
        batch: int = 1,
        malformed_every: int = 0,
        fire_shelter: str | None = None,
        silent_fraction: float = 0.0,
        silent_after_s: float = 0.0,
        time_scale: float = 1.0,
        max_pending: int = 100,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        client_id: str | None = None,
    ) -> None:
        if not 1 <= batch <= 1000:
            raise InvalidSetting("batch must be 1..1000 readings (the device contract's limit)")
        if time_scale <= 0 or (rate_per_s is not None and rate_per_s <= 0):
            raise InvalidSetting("time_scale and rate_per_s must be positive")
        if protocol not in ("5", "3.1.1"):
            raise InvalidSetting(f"protocol must be '5' or '3.1.1', not {protocol!r}")
        self.address = address
        self.fleet = fleet
        self.v5 = protocol == "5"
        self.rate_per_s = rate_per_s
        self.batch = batch
        self.malformed_every = malformed_every
        self.fire_shelter = fire_shelter
        self.silent_ids = fleet.silent(silent_fraction) if silent_fraction > 0 else frozenset()
        self.silent_after_s = silent_after_s
        self.time_scale = time_scale
        self.max_pending = max_pending
        self.clock = clock
        self.client_id = client_id or f"shelterwatch-sim-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._last_ms: dict[str, int] = {}
        self._sent = 0

    def stop(self) -> None:
        self._stop.set()

    # -- message streams (pure apart from the clock) --------------------------------------
    def _numbered(self, messages: Iterator[_Message]) -> Iterator[_Message]:
        """Insert a broken message before every ``malformed_every``-th one."""
        kinds = list(Malformation)
        for message in messages:
            self._sent += 1
            if self.malformed_every and self._sent % self.malformed_every == 0:
                n = self._sent // self.malformed_every - 1
                sensor = self.fleet.sensors[n % len(self.fleet.sensors)]
                topic, payload = malformed(kinds[n % len(kinds)], sensor, self.clock())
                yield _Message(topic, payload, 0)
                self._sent += 1
            yield message

    def _encode(self, sensor: SimSensor, objects: list[dict[str, Any]]) -> _Message:
        doc: Any = objects[0] if len(objects) == 1 else objects
        return _Message(sensor.topic, json.dumps(doc, ensure_ascii=False).encode(), len(objects))

    def _stamp_ms(self, sensor_id: str, ms: int) -> int:
        """``ms``, or one more than this sensor's last, so no two of its readings collide."""
        ms = max(ms, self._last_ms.get(sensor_id, 0) + 1)
        self._last_ms[sensor_id] = ms
        return ms

    def backlog(
        self, n_readings: int, batch: int, start_ts: datetime, step_ms: int
    ) -> Iterator[_Message]:
        """Exactly ``n_readings`` readings, sensors in turn, each sensor's ``step_ms`` apart."""
        sensors = self.fleet.sensors
        per, extra = divmod(n_readings, len(sensors))
        counts = [per + (i < extra) for i in range(len(sensors))]
        k = 0
        while any(k < c for c in counts):
            for sensor, count in zip(sensors, counts, strict=True):
                if k >= count:
                    continue
                objects = []
                for j in range(k, min(k + batch, count)):
                    ts = start_ts + timedelta(milliseconds=j * step_ms)
                    objects.append(self.fleet.reading_at(sensor, ts))
                yield self._encode(sensor, objects)
            k += batch

    def schedule(self) -> Iterator[tuple[float, SimSensor, int]]:
        """(seconds after start, sensor, readings it takes) in due order, without end."""
        if self.rate_per_s is not None:
            everyone = self.fleet.sensors
            talking = [s for s in everyone if s.sensor_id not in self.silent_ids]
            n = 0
            while True:
                due = n / self.rate_per_s
                active = everyone if due < self.silent_after_s else talking
                if not active:
                    return
                yield due, active[n % len(active)], self.batch
                n += 1
        heap = [
            (draw(self.fleet.seed, "phase", s.sensor_id) * s.interval_s / self.time_scale, i)
            for i, s in enumerate(self.fleet.sensors)
        ]
        heapq.heapify(heap)
        while heap:
            due, i = heapq.heappop(heap)
            sensor = self.fleet.sensors[i]
            if due >= self.silent_after_s and sensor.sensor_id in self.silent_ids:
                continue
            yield due, sensor, 1
            heapq.heappush(heap, (due + sensor.interval_s / self.time_scale, i))

    # -- publishing -----------------------------------------------------------------------
    def run(self, duration_s: float | None = None, count: int | None = None) -> PublishStats:
        """Publish live readings until ``duration_s`` elapses, ``count`` readings are
        published, or `stop`; returns what the broker confirmed."""
        started = self.clock()
        fire = FireEvent(self.fire_shelter, started) if self.fire_shelter else None
        t0 = time.monotonic()
        buffers: dict[str, list[dict[str, Any]]] = {}

        def paced() -> Iterator[_Message]:
            readings = 0
            for due, sensor, n in self.schedule():
                if duration_s is not None and due > duration_s:
                    return
                if self._stop.wait(max(0.0, t0 + due - time.monotonic())):
                    return
                pending = buffers.setdefault(sensor.sensor_id, [])
                for _ in range(n):
                    now = self.clock()
                    sim = started + (now - started) * self.time_scale
                    obj = self.fleet.reading_at(sensor, sim, fire=fire, stamp=now)
                    obj["ts"] = self._stamp_ms(sensor.sensor_id, obj["ts"])
                    pending.append(obj)
                if len(pending) >= self.batch:
                    buffers[sensor.sensor_id] = []
                    yield self._encode(sensor, pending)
                    readings += len(pending)
                    if count is not None and readings >= count:
                        return

        return self._publish(self._numbered(paced()))

    def publish_backlog(
        self,
        n_readings: int,
        batch: int | None = None,
        start_ts: datetime | None = None,
        step_ms: int = 60_000,
    ) -> PublishStats:
        """Publish exactly ``n_readings`` readings as fast as the broker confirms them.

        ``start_ts`` defaults to far enough back that the last reading is stamped now.
        """
        size = batch or self.batch
        if start_ts is None:
            per_sensor = -(-n_readings // len(self.fleet.sensors))
            start_ts = self.clock() - timedelta(milliseconds=(per_sensor - 1) * step_ms)
        return self._publish(self._numbered(self.backlog(n_readings, size, start_ts, step_ms)))

    def _publish(self, messages: Iterator[_Message]) -> PublishStats:
        """Publish with at most ``max_pending`` unconfirmed; gives up on the rest once the
        broker confirms nothing for `CONFIRM_TIMEOUT_S`."""
        client = self._client()
        pending: deque[tuple[mqtt.MQTTMessageInfo, _Message]] = deque()
        confirmed = [0, 0, 0]
        progress = time.monotonic()

        def settle() -> bool:
            nonlocal progress
            info, message = pending.popleft()
            while not info.is_published():
                left = progress + CONFIRM_TIMEOUT_S - time.monotonic()
                if left <= 0:
                    return False
                try:
                    info.wait_for_publish(min(left, 1.0))
                except (RuntimeError, ValueError):
                    # Raised at once while disconnected; paho resends on reconnect, so poll.
                    time.sleep(0.05)
            progress = time.monotonic()
            confirmed[0] += 1
            confirmed[1] += message.readings
            confirmed[2] += message.readings == 0
            return True

        try:
            for message in messages:
                if self._stop.is_set():
                    break
                pending.append((client.publish(message.topic, message.payload, qos=1), message))
                if len(pending) >= self.max_pending and not settle():
                    break
            while pending and settle():
                pass
        finally:
            client.disconnect()
            client.loop_stop()
        return PublishStats(*confirmed)

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311,
        )
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        self.address.secure(client)
        # paho does work proportional to the in-flight count on every PUBACK: with paho 2.2
        # against Mosquitto, 100 in flight published ~13,000 msgs/s, 1,000 only ~5,000.
        client.max_inflight_messages_set(max(self.max_pending, 20))
        client.max_queued_messages_set(0)
        answer: list[ReasonCode] = []
        answered = threading.Event()

        def on_connect(
            _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
        ) -> None:
            answer.append(reason)
            answered.set()

        client.on_connect = on_connect
        where = f"{self.address.host}:{self.address.port}"
        try:
            client.connect(self.address.host, self.address.port, keepalive=30)
        except OSError as exc:
            raise BrokerUnreachable(f"cannot reach MQTT broker {where}: {exc}") from exc
        client.loop_start()
        if not answered.wait(10.0) or answer[0].is_failure:
            client.disconnect()
            client.loop_stop()
            why = answer[0] if answer else "no CONNACK within 10 s"
            raise BrokerUnreachable(f"MQTT broker {where} refused the simulator: {why}")
        return client
