"""The demo data of `shelterwatch run`: every account has its own password."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.processes.demo import demo_fleet, seed
from api.state import AppState


def test_each_demo_account_has_its_own_password(
    state: AppState, client: TestClient, tmp_path: Path
) -> None:
    login_file = tmp_path / "demo-login.txt"
    assert seed(state, demo_fleet(), login_file)
    logins = {}
    for line in login_file.read_text(encoding="utf-8").splitlines():
        _role, username, kind, secret = line.split()
        if kind == "password:":
            logins[username] = secret
    assert len(logins) >= 5
    assert len(set(logins.values())) == len(logins)
    admin, officer = logins["admin"], next(p for u, p in logins.items() if u != "admin")
    token = client.post("/api/v1/auth/token", data={"username": "admin", "password": admin})
    assert token.status_code == 200, token.text
    refused = client.post("/api/v1/auth/token", data={"username": "admin", "password": officer})
    assert refused.status_code == 401
    assert not seed(state, demo_fleet(), login_file)  # users exist: nothing seeded again
