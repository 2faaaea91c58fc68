"""A private nginx running the shipped site (deploy/nginx/shelterwatch.conf) on loopback
ports, with a test CA's certificate, in front of the given upstream ports: what the site's
own tests and the scale-out rig put between a client and ShelterWatch."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "shelterwatch.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def site_config(shipped: str, *, http: int, https: int, upstreams: list[int], tls: Path) -> str:
    """The shipped site with loopback ports, the test certificate and the upstreams' ports."""
    servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in upstreams)
    replacements = {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "/etc/shelterwatch/tls/shelterwatch.pem": str(tls / "broker.pem"),
        "/etc/shelterwatch/tls/shelterwatch.key": str(tls / "broker.key"),
        "server 127.0.0.1:8000;": servers,
    }
    for old, new in replacements.items():
        assert old in shipped, old
        shipped = shipped.replace(old, new)
    return shipped


class Nginx:
    """nginx in ``prefix`` (its configuration, logs, temporary files and test CA), checked
    with ``nginx -t`` and started in the foreground."""

    def __init__(self, prefix: Path, upstreams: list[int]) -> None:
        binary = nginx_binary()
        assert binary is not None, "nginx is not installed (deploy/dev/services.sh installs it)"
        self.prefix = prefix
        prefix.mkdir(parents=True)
        tls = prefix / "tls"
        subprocess.run([str(ROOT / "scripts/make-ca"), str(tls)], check=True, capture_output=True)
        self.ca = tls / "ca.pem"
        self.http, self.https = free_port(), free_port()
        (prefix / "shelterwatch.conf").write_text(
            site_config(
                SITE.read_text(), http=self.http, https=self.https, upstreams=upstreams, tls=tls
            )
        )
        # As root, nginx's workers would otherwise run as nobody, who cannot enter the test's
        # private directories (certificates, body buffers).
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"    {kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"};
events {{ worker_connections 256; }}
http {{
    access_log {prefix / "access.log"};
{temp}
    include {prefix / "shelterwatch.conf"};
}}
"""
        )
        self.args = [
            binary,
            "-p",
            str(prefix),
            "-e",
            str(prefix / "error.log"),
            "-c",
            str(prefix / "nginx.conf"),
        ]
        check = subprocess.run(
            [*self.args, "-t", "-q"], check=False, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([*self.args, "-g", "daemon off;"], stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    @property
    def trust(self) -> ssl.SSLContext:
        """A client context trusting the test CA only."""
        return ssl.create_default_context(cafile=str(self.ca))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.trust, timeout=30)

    def answers(self, path: str) -> bool:
        try:
            with self.client() as client:
                return client.get(path).is_success
        except httpx.HTTPError:
            return False

    def up(self) -> bool:
        return self.answers("/readyz")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(30)
