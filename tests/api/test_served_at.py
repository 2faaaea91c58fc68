"""Links in notifications point where the server listens unless a public URL is configured."""

from __future__ import annotations

import pytest

from api.processes.cli import served_at
from api.settings import Settings


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),  # noqa: S104
        ("::1", 8000, "http://[::1]:8000"),
        ("shelters.example", 80, "http://shelters.example:80"),
    ],
)
def test_links_follow_the_listening_port(host: str, port: int, expected: str) -> None:
    assert served_at(Settings(), host, port).public_base_url == expected


def test_a_configured_public_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELTERWATCH_PUBLIC_BASE_URL", "https://rf.example.gov.cn")
    assert served_at(Settings(), "0.0.0.0", 8123).public_base_url == "https://rf.example.gov.cn"  # noqa: S104
