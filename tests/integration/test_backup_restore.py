"""The restore drill: ``shelterwatch backup`` and ``shelterwatch restore`` (real PostgreSQL,
real InfluxDB 1.6 with its own backup tool, the file store) bring back what the API served.

A fresh records database and a fresh readings database are seeded through the API (a
register with a sensor, an inspection whose findings start follow-ups, a photo) and the
reading store; they are backed up, wiped (both databases dropped, the file store deleted)
and restored, and the API built anew on the restored stores serves the same register,
follow-ups (same notice numbers), photo bytes and readings. Restore refuses to overwrite
stores that hold data unless told to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.processes.backup import BackupError, backup, restore
from api.processes.cli import build_state, close_state
from api.settings import Settings
from inspection.access import SYSTEM
from inspection.models import Role
from inspection.schemas import UserCreate
from inspection.users import create_user
from telemetry.readings import Reading
from tests.conftest import PASSWORD, PG_ADMIN_URL, migrated_pg_database
from tests.images import png
from tests.integration.conftest import INFLUX_URL, ROOT, influx_count

pytestmark = [pytest.mark.influx, pytest.mark.postgres]

SECRET = "b" * 40
CODE = "BK-001"
DISTRICT = "黄浦区"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of its own, dropped at the end."""
    with migrated_pg_database("sw_backup") as url:
        yield url


@pytest.fixture
def influx_database() -> Iterator[str]:
    """A fresh InfluxDB database name; created by the first write, dropped at the end."""
    name = f"swbk_{uuid.uuid4().hex[:10]}"
    httpx.post(f"{INFLUX_URL}/query", params={"q": f'CREATE DATABASE "{name}"'}).raise_for_status()
    yield name
    httpx.post(f"{INFLUX_URL}/query", params={"q": f'DROP DATABASE "{name}"'})


def tools_present() -> None:
    for tool in ("pg_dump", "pg_restore", "influxd"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (deploy/dev/services.sh installs it)")


class Deployment:
    """One deployment's settings, the CLI run with them, and the API built on them."""

    def __init__(self, pg_url: str, influx_db: str, root: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHELTERWATCH_")},
            "SHELTERWATCH_DATABASE_URL": pg_url,
            "SHELTERWATCH_SECRET_KEY": SECRET,
            "SHELTERWATCH_VAR_DIR": str(root / "var"),
            "SHELTERWATCH_FILES_DIR": str(root / "files"),
            "SHELTERWATCH_MQTT_URL": "mqtt://127.0.0.1:1883",
            "SHELTERWATCH_INFLUX_URL": INFLUX_URL,
            "SHELTERWATCH_INFLUX_BUCKET": influx_db,
            "SHELTERWATCH_INFLUX_TOKEN": "unused-with-auth-off",
            "SHELTERWATCH_TICK_INTERVAL_SECONDS": "0",
        }
        self.files_dir = root / "files"
        self.influx_db = influx_db
        self.pg_url = pg_url

    def settings(self) -> Settings:
        """The settings the CLI reads from ``env``, for the processes built in the test."""
        values: dict[str, Any] = {
            k.removeprefix("SHELTERWATCH_").lower(): v
            for k, v in self.env.items()
            if k.startswith("SHELTERWATCH_")
        }
        return Settings(_env_file=None, **values)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.processes.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def seed(deployment: Deployment) -> dict[str, str]:
    """A register, an inspection with follow-ups and a photo, and readings; returns the
    users' names by role."""
    state = build_state(deployment.settings())
    try:
        with state.sessions() as session:
            for name, role, district in (
                ("bk-admin", Role.ADMIN, None),
                ("bk-inspector", Role.INSPECTOR, DISTRICT),
                ("bk-manager", Role.MANAGER, None),
            ):
                create_user(
                    session,
                    UserCreate(username=name, role=role, district=district, password=PASSWORD),
                    actor=SYSTEM,
                    now=datetime.now(UTC),
                )
            session.commit()
        with TestClient(create_app(state)) as client:
            admin = login(client, "bk-admin")
            inspector = login(client, "bk-inspector")
            r = client.post(
                "/api/v1/shelters",
                headers=admin,
                json={
                    "code": CODE,
                    "name": "人民广场地下工程",
                    "district": DISTRICT,
                    "manager": "bk-manager",
                    "inspector": "bk-inspector",
                },
            )
            assert r.status_code == 201, r.text
            r = client.post(
                f"/api/v1/shelters/{CODE}/sensors",
                headers=admin,
                json={"sensor_id": "BK-S1", "zone": "滤毒室", "expected_interval_s": 600},
            )
            assert r.status_code == 201, r.text
            r = client.post(
                f"/api/v1/shelters/{CODE}/inspections",
                headers=inspector,
                json={
                    "inspected_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                    "findings": [{"item": "EQ-RUST"}, {"item": "DOOR-NOT-CLOSING"}],
                },
            )
            assert r.status_code == 201, r.text
            inspection = r.json()
            assert [f["number"] for f in inspection["followups"]]
            r = client.post(
                f"/api/v1/inspections/{inspection['id']}/photos",
                headers=inspector,
                files=[("files", ("door.png", png(64, 48), "image/png"))],
            )
            assert r.status_code == 201, r.text
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
        state.readings.write(
            [
                Reading(
                    CODE,
                    "BK-S1",
                    start + timedelta(minutes=5 * i),
                    temperature=15.0 + i / 4,
                    humidity=60.0 + i % 7,
                    fire_risk=float(i % 13),
                    fire_risk_version="fri-1",
                    district=DISTRICT,
                    zone="滤毒室",
                )
                for i in range(24)
            ]
        )
    finally:
        close_state(state)
    return {"admin": "bk-admin", "manager": "bk-manager"}


def served(deployment: Deployment, now: datetime) -> dict[str, Any]:
    """What the API serves of the seeded data, photo bytes included; readings of the three
    hours before ``now``."""
    state = build_state(deployment.settings())
    try:
        with TestClient(create_app(state)) as client:
            admin = login(client, "bk-admin")
            manager = login(client, "bk-manager")
            shelters = client.get("/api/v1/shelters", headers=admin).json()
            followups = client.get(
                "/api/v1/followups", headers=admin, params={"with_findings": "true"}
            ).json()
            urls = sorted(
                a["url"]
                for f in followups["items"]
                for finding in f["findings"]
                for a in finding.get("attachments", [])
            )
            inspections = client.get(f"/api/v1/shelters/{CODE}/inspections", headers=admin)
            [inspection_id] = [i["id"] for i in inspections.json()["items"]]
            inspection = client.get(f"/api/v1/inspections/{inspection_id}", headers=admin).json()
            photos = [p["url"] for p in inspection.get("photos", [])] + urls
            assert photos, inspection
            window = {
                "start": (now - timedelta(hours=3)).isoformat(),
                "end": now.isoformat(),
                "every": "1m",
            }
            telemetry = {
                (metric, agg): client.get(
                    f"/api/v1/shelters/{CODE}/telemetry",
                    headers=manager,
                    params={**window, "metric": metric, "agg": agg},
                ).json()
                for metric in ("temperature", "humidity", "fire_risk")
                for agg in ("mean", "count")
            }
            return {
                "shelters": shelters,
                "sensors": client.get(f"/api/v1/shelters/{CODE}/sensors", headers=admin).json(),
                "followups": followups,
                "notices": sorted(f["number"] for f in followups["items"]),
                "photos": {url: client.get(url, headers=admin).content for url in photos},
                "latest": client.get(
                    f"/api/v1/shelters/{CODE}/telemetry/latest", headers=manager
                ).json(),
                "telemetry": telemetry,
            }
    finally:
        close_state(state)


def wipe(deployment: Deployment) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = deployment.pg_url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
    q = f'DROP DATABASE "{deployment.influx_db}"'
    httpx.post(f"{INFLUX_URL}/query", params={"q": q}).raise_for_status()
    shutil.rmtree(deployment.files_dir)


def test_backup_wipe_restore_serves_the_same(
    pg_database: str, influx_database: str, tmp_path: Path
) -> None:
    tools_present()
    deployment = Deployment(pg_database, influx_database, tmp_path / "site")
    seed(deployment)
    now = datetime.now(UTC)
    before = served(deployment, now)
    assert before["shelters"]["total"] == 1 and len(before["sensors"]) == 1
    assert before["notices"] and all(before["photos"].values())
    [count] = [p["value"] for p in before["telemetry"]["temperature", "count"]["points"][:1]]
    assert count == 1 and len(before["telemetry"]["temperature", "count"]["points"]) == 24
    assert influx_count(influx_database) == 24

    done = deployment.cli("backup", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    backup_dir = Path(done.stdout.strip())
    assert backup_dir.parent == tmp_path / "backups"
    assert backup_dir.name.startswith("shelterwatch-")
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["postgres"]["revision"]
    assert manifest["influx"]["database"] == influx_database
    assert manifest["files"]["count"] == len(
        list(p for p in deployment.files_dir.rglob("*") if p.is_file())
    )
    assert {"postgres.dump", "files.tar"} <= set(manifest["checksums"])

    with pytest.raises(BackupError, match="refusing to overwrite") as refused:
        restore(deployment.settings(), backup_dir)
    for store in ("PostgreSQL database", "InfluxDB database", "file store"):
        assert store in str(refused.value)

    wipe(deployment)
    assert influx_count(influx_database) in (-1, 0)
    restored = deployment.cli("restore", str(backup_dir))
    assert restored.returncode == 0, restored.stderr
    assert influx_count(influx_database) == 24
    assert served(deployment, now) == before

    with pytest.raises(BackupError, match="refusing to overwrite"):
        restore(deployment.settings(), backup_dir)
    restore(deployment.settings(), backup_dir, force=True)
    assert served(deployment, now) == before


def test_a_damaged_backup_is_refused(
    pg_database: str, influx_database: str, tmp_path: Path
) -> None:
    tools_present()
    deployment = Deployment(pg_database, influx_database, tmp_path / "site")
    seed(deployment)
    backup_dir = backup(deployment.settings(), tmp_path / "backups")
    with (backup_dir / "files.tar").open("r+b") as fh:
        fh.seek(600)
        fh.write(b"X")
    wipe(deployment)
    with pytest.raises(BackupError, match=r"files\.tar does not match its checksum"):
        restore(deployment.settings(), backup_dir)
    with pytest.raises(BackupError, match=r"has no manifest\.json"):
        restore(deployment.settings(), tmp_path)
