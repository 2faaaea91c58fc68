"""The paho-mqtt adapter: a persistent-session QoS 1 subscriber with manual acknowledgement.

MQTT 5 by default, with a CONNECT Receive Maximum sized to the batch: a broker sends a client
only that many unacknowledged QoS 1 messages at once (Mosquitto's default is 20), and the
ingester acknowledges only after storage. A broker that speaks only MQTT 3.1.1 has no Receive
Maximum; there the broker's own in-flight limit applies (Mosquitto: ``max_inflight_messages``,
set it to the batch size or 0 for unlimited).

The session is persistent (fixed client id, clean start off, a long session expiry) so that
messages queue at the broker while the ingester is down. Reconnection is paho's own loop.
The client is paho's with a leaner receive path (``telemetry.mqtt_client``): the messages of
one socket read reach ``on_deliveries`` together, stamped with the time of that read.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.access import TELEMETRY_FILTER
from telemetry.errors import InvalidSetting
from telemetry.intake import AckRef, Delivery
from telemetry.mqtt_client import LeanClient

log = logging.getLogger(__name__)

TELEMETRY_TOPIC = TELEMETRY_FILTER
SESSION_EXPIRY_S = 7 * 24 * 3600
_PUBACK_TYPE: Final = 0x40
_PUBACK: Final = struct.Struct("!BBH")
"""A PUBACK with success and no properties, as paho writes it: type, length 2, packet id."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    """PEM file of the CA that signed the broker's certificate (``mqtts://…?ca=``); None
    trusts the system's CAs."""

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://user:password@host:port``, or ``mqtts://user:password@host:port`` for
        TLS, with ``?ca=/path/ca.pem`` when the broker's certificate is signed by a CA of the
        operator's own (``scripts/make-ca`` makes one for tests and pilots)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            # Only the scheme is repeated: the rest of the URL may hold a password.
            scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
            raise InvalidSetting(f"MQTT URL must start with mqtt:// or mqtts://, not {scheme}")
        tls = parts.scheme == "mqtts"
        query = parse_qs(parts.query)
        unknown = set(query) - {"ca"}
        if unknown:
            raise InvalidSetting(f"MQTT URL: unknown parameter(s) {sorted(unknown)}; only ca=")
        ca = query.get("ca", [None])[-1]
        if ca is not None and not tls:
            raise InvalidSetting("MQTT URL: ca= is for mqtts:// only")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            ca_file=ca,
        )

    def secure(self, client: mqtt.Client) -> None:
        """For ``mqtts://``: TLS, the broker's certificate checked against ``ca_file`` (or the
        system's CAs) and against the host name connected to. Call before connecting."""
        if self.tls:
            client.tls_set(ca_certs=self.ca_file)


class MqttSubscriber:
    """Receives telemetry and hands the messages of each read to ``on_deliveries``;
    acknowledges on demand."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        on_deliveries: Callable[[Sequence[Delivery]], None],
        protocol: str = "5",
        receive_maximum: int = 5000,
        shared_group: str | None = None,
        topic: str = TELEMETRY_TOPIC,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_connection_change: Callable[[bool], None] | None = None,
        wait_for_room: Callable[[float], bool] | None = None,
    ) -> None:
        self.address = address
        self.on_deliveries = on_deliveries
        self.clock = clock
        self.topic = f"$share/{shared_group}/{topic}" if shared_group else topic
        self.v5 = protocol == "5"
        self.receive_maximum = receive_maximum
        self.generation = 0
        """Names the connection; moves on at each disconnect, so acknowledgements for
        messages of a lost connection are dropped (the broker redelivers those)."""
        self._ack_lock = threading.Lock()
        self.connected = threading.Event()
        self._on_connection_change = on_connection_change
        self._received: list[Delivery] = []
        self._received_at = clock()
        self.client = LeanClient(
            CallbackAPIVersion.VERSION2,
            on_publish=self._on_publish,
            on_read=self._on_read,
            before_read=wait_for_room,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self.v5 else False,
            manual_ack=True,
        )
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        address.secure(self.client)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Outgoing in-flight limit (our PUBACKs are not limited by it; alert publishes are).
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        properties: Properties | None = None
        if self.v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            properties.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=30,
            clean_start=False if self.v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._set_connected(False)

    def _set_connected(self, up: bool) -> None:
        if up:
            self.connected.set()
        else:
            self.connected.clear()
        if self._on_connection_change is not None:
            self._on_connection_change(up)

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        log.info(
            "connected to MQTT %s:%d (session present: %s)",
            self.address.host,
            self.address.port,
            flags.session_present,
        )
        client.subscribe(self.topic, qos=1)
        self._set_connected(True)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._ack_lock:  # acknowledgements already queued go with the old socket
            self.generation += 1
        self._set_connected(False)
        log.warning("disconnected from MQTT: %s", reason)

    # -- receiving (paho's network thread; no I/O here: the pipeline only queues) ------------
    def _on_read(self, start: bool) -> None:
        if start:
            self._received_at = self.clock()
        elif self._received:
            received, self._received = self._received, []
            self.on_deliveries(received)

    def _on_publish(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        self._received.append(
            Delivery(topic, payload, mid, qos, self.generation, self._received_at)
        )

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Paho's own path: QoS 2, or a paho whose internals the lean path does not know."""
        payload = msg.payload if isinstance(msg.payload, bytes) else bytes(msg.payload)
        self._on_publish(msg.topic, payload, msg.mid, msg.qos)

    def ack(self, refs: Sequence[AckRef]) -> None:
        # Under the lock the disconnect handler takes to move the generation on: these either
        # join the old connection's packets (dropped by paho's reconnect) or are skipped.
        with self._ack_lock:
            current = self.generation
            pubacks = [mid for mid, qos, gen in refs if qos == 1 and gen == current]
            for mid, qos, gen in refs:
                if qos > 1 and gen == current:
                    self.client.ack(mid, qos)
            if pubacks:
                self._send_pubacks(pubacks)

    def _send_pubacks(self, mids: list[int]) -> None:
        """The PUBACKs of a batch in one write: paho's ``ack`` queues one packet per message,
        each costing a wake-up of its network thread and a send() system call of 4 bytes.
        The bytes on the wire are the same; only paho's private packet queue (which its own
        ``ack`` uses) is called directly, and ``ack`` is the fallback should it change."""
        queue = getattr(self.client, "_packet_queue", None)
        if queue is None or len(mids) == 1:
            for mid in mids:
                self.client.ack(mid, 1)
            return
        pack = _PUBACK.pack
        queue(_PUBACK_TYPE, b"".join([pack(_PUBACK_TYPE, 2, mid) for mid in mids]), 0, 1)
