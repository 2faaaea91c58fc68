"""How the processes run retention: the settings, the periodic job of ``serve`` (first pass at
start), and the InfluxDB setup of ``db upgrade`` and ``serve`` against the real server."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine

from api.processes.scheduler import Periodic
from api.processes.telemetry_wiring import build_retention_job, ensure_influx_retention
from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.telemetry.test_stores import INFLUX_URL, influx_select


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(var_dir=tmp_path / "var", secret_key=TEST_SECRET, _env_file=None, **values)  # type: ignore[call-arg]


def test_the_retention_settings(tmp_path: Path) -> None:
    policy = settings(tmp_path).retention_policy()
    assert policy is not None
    assert (policy.raw, policy.hourly) == (timedelta(days=90), timedelta(days=1826))
    with pytest.raises(ValidationError, match="at least SHELTERWATCH_RAW_RETENTION_DAYS"):
        settings(tmp_path, raw_retention_days=30, hourly_retention_days=20)
    with pytest.raises(ValidationError):
        settings(tmp_path, raw_retention_days=1)
    # Nothing rolls up: every window is read raw.
    assert settings(tmp_path, retention_interval_seconds=0).retention_policy() is None
    assert settings(tmp_path, influx_url=INFLUX_URL, influx_rollup=False).retention_policy() is None


def test_the_periodic_job_can_run_first_at_start() -> None:
    ran = threading.Event()
    job = Periodic("retention", ran.set, 3600, first_after=0)
    job.start()
    try:
        assert ran.wait(timeout=30)
    finally:
        job.stop()


@pytest.mark.influx
def test_influx_retention_is_set_up_from_the_settings_and_again_without_change(
    tmp_path: Path,
) -> None:
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    configured = settings(
        tmp_path, influx_url=INFLUX_URL, influx_bucket=name, raw_retention_days=30
    )
    try:
        ensure_influx_retention(configured)
        unused = create_engine("sqlite://")  # InfluxDB's job needs no records database
        job = build_retention_job(configured, unused, lambda: datetime.now(UTC))
        unused.dispose()
        assert job is not None
        job()  # serve's periodic pass: the same setup, changing nothing
        rows = influx_select(name, f'SHOW RETENTION POLICIES ON "{name}"', {})
        assert {(r["name"], r["duration"], r["default"]) for r in rows} == {
            ("autogen", "720h0m0s", True),
            ("hourly", "43824h0m0s", False),
        }
    finally:
        httpx.post(f"{INFLUX_URL}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=10)
