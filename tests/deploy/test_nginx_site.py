"""deploy/nginx/shelterwatch.conf in a private nginx (its own config, pid, logs and loopback
ports) with a certificate from scripts/make-ca, in front of the app (create_app on SQLite,
served by uvicorn as `serve` does, trusting X-Forwarded-* from 127.0.0.1).

Shows that plain HTTP redirects to HTTPS, /readyz answers over TLS 1.2 and 1.3 with each
security header once (HSTS included: the app saw X-Forwarded-Proto https), nginx answers 413
itself to a body over its limit while the upload routes take what the app accepts, and the
login route is rate-limited. The app has no server-sent-events route, so there is no stream
to check for buffering.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.processes.cli import build_state, close_state
from api.settings import Settings
from tests.nginx_rig import Nginx, free_port, nginx_binary
from tests.waiting import wait_until


@pytest.fixture
def app_port(tmp_path: Path) -> Iterator[int]:
    """The API on SQLite, served by uvicorn on a free loopback port."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'shelterwatch.db'}",
        var_dir=tmp_path / "var",
        secret_key="n" * 40,
        tick_interval_seconds=0,
        _env_file=None,
    )  # type: ignore[call-arg]
    state = build_state(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state),
            host="127.0.0.1",
            port=port,
            log_config=None,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            server_header=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 60, "uvicorn started", every=0.1)
    yield port
    server.should_exit = True
    thread.join(30)
    close_state(state)


@dataclass(frozen=True)
class Site:
    http: str
    https: str
    ca: Path

    @property
    def trust(self) -> ssl.SSLContext:
        """A client context trusting the test CA only."""
        return ssl.create_default_context(cafile=str(self.ca))


class Resetter:
    """A port that accepts connections and resets each at once, as a server does that dies
    with connections open."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.resets = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            self.resets += 1

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def broken_upstreams(request: pytest.FixtureRequest) -> Iterator[list[int]]:
    """Upstream servers besides the app that fail: with ``indirect`` parameters,
    ``"refused"`` (nothing listens) and ``"reset"`` (a :class:`Resetter`)."""
    resetters: list[Resetter] = []
    ports = []
    for kind in getattr(request, "param", ()):
        if kind == "reset":
            resetters.append(Resetter())
            ports.append(resetters[-1].port)
        else:
            ports.append(free_port())
    yield ports
    for r in resetters:
        r.close()


@pytest.fixture
def site(tmp_path: Path, app_port: int, broken_upstreams: list[int]) -> Iterator[Site]:
    if nginx_binary() is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed (deploy/dev/services.sh installs both)")
    nginx = Nginx(tmp_path / "nginx", [*broken_upstreams, app_port])
    try:
        wait_until(lambda: nginx.answers("/healthz"), 30, "nginx answers over https", every=0.1)
        yield Site(f"http://127.0.0.1:{nginx.http}", nginx.url, nginx.ca)
    finally:
        nginx.stop()


def test_plain_http_redirects_to_https(site: Site) -> None:
    r = httpx.get(f"{site.http}/api/v1/shelters?district=x", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "https://127.0.0.1/api/v1/shelters?district=x"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_readyz_over_tls_with_each_security_header_once(
    site: Site, version: ssl.TLSVersion
) -> None:
    context = ssl.create_default_context(cafile=str(site.ca))
    context.minimum_version = context.maximum_version = version
    r = httpx.get(f"{site.https}/readyz", verify=context)
    assert r.status_code == 200, r.text
    for name in (
        "strict-transport-security",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "content-security-policy",
    ):
        assert len(r.headers.get_list(name)) == 1, name
    assert r.headers["server"] == "nginx"  # no version


def test_tls_below_1_2_is_refused(site: Site) -> None:
    port = site.https.rsplit(":", 1)[1]
    client = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(site.ca)]
    result = subprocess.run(
        [*client, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = result.stdout + result.stderr
    if "no protocols available" in output:
        pytest.skip("this OpenSSL cannot offer TLS 1.1 at all")
    assert result.returncode != 0
    assert "alert protocol version" in output, output


def raw_https(site: Site, request: bytes) -> bytes:
    """One request over TLS, written as given (headers may promise more than is sent)."""
    port = int(site.https.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(site.ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_bodies_over_the_limits_get_413_from_nginx(site: Site) -> None:
    body = b"x" * (2 * 1024 * 1024)
    r = httpx.post(f"{site.https}/api/v1/auth/token", content=body, verify=site.trust)
    assert r.status_code == 413
    assert "text/html" in r.headers["content-type"]  # nginx's page, not the app's JSON error
    # The same body to an upload route is passed to the app, which asks for a login first.
    r = httpx.post(
        f"{site.https}/api/v1/inspections/1/photos",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        verify=site.trust,
    )
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    # Past what the app accepts there (101 MiB), nginx refuses on the declared length alone.
    answer = raw_https(
        site,
        b"POST /api/v1/inspections/1/photos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: 110000000\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_login_is_rate_limited_per_client(site: Site) -> None:
    def attempt(i: int) -> httpx.Response:
        return httpx.post(
            f"{site.https}/api/v1/auth/token",
            data={"username": f"nobody{i}", "password": "wrong-password-123"},
            verify=site.trust,
            timeout=60,
        )

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(24)))
    limited = [
        r for r in answers if r.status_code == 429 and "text/html" in r.headers["content-type"]
    ]
    by_app = [r for r in answers if r.headers["content-type"] == "application/json"]
    # burst 10 (+1 for the rate itself); the rest are refused by nginx within the minute.
    assert time.monotonic() - started < 60
    assert len(by_app) <= 12 and len(limited) >= 12, [r.status_code for r in answers]


@pytest.mark.parametrize("broken_upstreams", [("refused", "reset")], indirect=True)
def test_a_request_an_upstream_fails_goes_to_the_next(
    site: Site, broken_upstreams: list[int], tmp_path: Path
) -> None:
    """Of three serve processes, one is down (connection refused) and one dies under its
    connections (reset): nginx passes each request on to the next, and every GET is answered
    by the one that works."""
    with httpx.Client(verify=site.trust) as client:
        answers = [client.get(f"{site.https}/readyz").status_code for _ in range(12)]
    assert answers == [200] * 12
    log = (tmp_path / "nginx" / "error.log").read_text()
    assert "Connection refused" in log
    assert "reset by peer" in log or "prematurely closed" in log
