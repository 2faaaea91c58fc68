"""Brokers with accounts for the access tests: a Mosquitto of the test's own, with the
dynamic-security plugin, and a plain paho client that records what happens to it.

`DynsecMosquitto` runs a second ``mosquitto`` on a free loopback port from a generated
configuration in a temporary directory (never the system broker on 1883): anonymous access
off, the plugin loaded, its file initialised with an admin account by ``mosquitto_ctrl dynsec
init``, no persistence; with ``tls_dir`` (made by ``scripts/make-ca``) its one listener speaks
TLS only.
"""

from __future__ import annotations

import getpass
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.mqtt import BrokerAddress
from tests.waiting import wait_until

DYNSEC_PLUGIN: Final = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
ADMIN: Final = "shelterwatch-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_available() -> bool:
    return bool(shutil.which("mosquitto") and shutil.which("mosquitto_ctrl")) and (
        DYNSEC_PLUGIN.exists()
    )


class DynsecMosquitto:
    """A mosquitto with the dynamic-security plugin on a free port; a context manager."""

    def __init__(self, workdir: Path, *, tls_dir: Path | None = None) -> None:
        self.workdir = workdir
        self.tls_dir = tls_dir
        self.port = 0
        self.admin_password = secrets.token_urlsafe(16)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def admin(self) -> BrokerAddress:
        return self.login(ADMIN, self.admin_password)

    @property
    def address(self) -> BrokerAddress:
        return self.login(None, None)

    def login(self, username: str | None, password: str | None) -> BrokerAddress:
        if self.tls_dir is None:
            return BrokerAddress("127.0.0.1", self.port, username, password)
        ca = str(self.tls_dir / "ca.pem")
        return BrokerAddress("127.0.0.1", self.port, username, password, tls=True, ca_file=ca)

    @property
    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = self.workdir / "dynamic-security.json"
        subprocess.run(
            ["mosquitto_ctrl", "dynsec", "init", str(state), ADMIN, self.admin_password],
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"listener {self.port} 127.0.0.1",
                    *self._tls_lines(),
                    "allow_anonymous false",
                    f"plugin {DYNSEC_PLUGIN}",
                    f"plugin_opt_config_file {state}",
                    "persistence false",
                    # Stay the user running the tests, who owns the plugin's file.
                    f"user {getpass.getuser()}",
                    f"log_dest file {self.workdir / 'mosquitto.log'}",
                    "log_type all",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            process = self._process
            if process is not None and process.poll() is not None:
                raise AssertionError(f"mosquitto exited ({process.returncode}):\n{self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_until(listening, 10, f"mosquitto on port {self.port}")

    def _tls_lines(self) -> list[str]:
        if self.tls_dir is None:
            return []
        return [
            f"cafile {self.tls_dir / 'ca.pem'}",
            f"certfile {self.tls_dir / 'broker.pem'}",
            f"keyfile {self.tls_dir / 'broker.key'}",
        ]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(10)

    def __enter__(self) -> DynsecMosquitto:
        self.start()
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


class Probe:
    """A paho client that connects once (never again by itself), records the messages it
    receives and notices when the broker drops it."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        login: tuple[str, str] | None = None,
        *,
        protocol: str = "3.1.1",
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.client_id = client_id
        self.address = address
        self.v5 = protocol == "5"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        if login is not None:
            self.client.username_pw_set(*login)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1)
        address.secure(self.client)
        self.connack: ReasonCode | None = None
        self.answered = threading.Event()
        self.dropped = threading.Event()
        self._lock = threading.Lock()
        self._messages: list[tuple[str, bytes]] = []
        self._subacks: dict[int, list[ReasonCode]] = {}
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def connect(self) -> ReasonCode:
        """The broker's CONNACK (or a failure once the connection is closed unanswered)."""
        self.client.connect(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        if not self.answered.wait(10):
            raise AssertionError(f"no CONNACK for {self.client_id}")
        assert self.connack is not None
        return self.connack

    def subscribe(self, topic: str) -> ReasonCode:
        _rc, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        wait_until(lambda: mid in self._subacks, 10, f"SUBACK for {topic}")
        return self._subacks[mid][0]

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def received(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self._messages)

    def payloads(self) -> list[bytes]:
        return [payload for _topic, payload in self.received()]

    def vanish(self) -> None:
        """End the TCP connection without DISCONNECT, as a device losing power does."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
        wait_until(self.dropped.is_set, 10, f"{self.client_id} to notice its lost connection")
        self.client.loop_stop()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair only when the client is collected; without
        # the callbacks' cycle back to this probe that happens here, not in a later gc run.
        self.client.on_connect = self.client.on_disconnect = None
        self.client.on_message = self.client.on_subscribe = None

    # -- paho callbacks ---------------------------------------------------------------------
    def _on_connect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        self.connack = reason
        self.answered.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if self.connack is None:
            self.connack = reason
            self.answered.set()
        self.dropped.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append((msg.topic, bytes(msg.payload)))

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        self._subacks[mid] = codes
