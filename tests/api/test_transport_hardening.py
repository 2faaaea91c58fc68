"""HSTS on answers to HTTPS requests, and the SQLite records file kept owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from api.app import create_app
from api.db import build_engine
from api.state import AppState


def test_hsts_only_on_requests_over_https(state: AppState) -> None:
    app = create_app(state)
    with TestClient(app, base_url="https://testserver") as https:
        assert (
            https.get("/healthz")
            .headers["strict-transport-security"]
            .startswith("max-age=31536000")
        )
    with TestClient(app) as http:
        assert "strict-transport-security" not in http.get("/healthz").headers


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "records.db"
    engine = build_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert _mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert not side.exists() or _mode(side) == 0o600
    finally:
        engine.dispose()
    path.chmod(0o644)
    build_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600


def test_metrics_is_open_when_no_token_is_set(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200


def test_metrics_token_protects_the_api_metrics(state: AppState) -> None:
    state.settings.metrics_token = SecretStr("m" * 24)
    with TestClient(create_app(state)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "metrics_token_required"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {'m' * 24}"})
        assert ok.status_code == 200
        assert "shelterwatch_http_requests_total" in ok.text
