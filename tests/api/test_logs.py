"""Logging as the processes set it up: our loggers at SHELTERWATCH_LOG_LEVEL, third parties
(amqtt's state machine, alembic, uvicorn, ...) at WARNING unless DEBUG or
SHELTERWATCH_LOG_LEVELS asks for them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from api import logs
from api.processes.cli import main
from api.settings import Settings


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run the test without the caller's SHELTERWATCH_LOG_* variables, on a database of its
    own (the root handlers and the loggers' levels are put back after every test by
    tests/conftest.py)."""
    for name in ("SHELTERWATCH_LOG_LEVEL", "SHELTERWATCH_LOG_LEVELS", "SHELTERWATCH_LOG_JSON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHELTERWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "var"))


def _emit_all() -> None:
    logging.getLogger("transitions.core").debug("third-party debug")
    logging.getLogger("transitions.core").info("third-party info")
    logging.getLogger("amqtt.broker").info("broker info")
    logging.getLogger("amqtt.broker").warning("broker warning")
    logging.getLogger("telemetry.ingest").debug("own debug")
    logging.getLogger("telemetry.ingest").info("own info")
    logging.getLogger("api.http").info("api info")
    logging.getLogger("shelterwatch").warning("own warning")


def test_db_upgrade_logs_its_own_info_and_no_third_party_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["db", "upgrade"]) == 0

    err = capsys.readouterr().err
    assert "INFO shelterwatch: database at head" in err
    assert "alembic" not in err  # alembic logs each migration step at INFO


def test_log_levels_setting_lets_one_third_party_logger_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHELTERWATCH_LOG_LEVELS", "alembic.runtime.migration=info")

    assert main(["db", "upgrade"]) == 0

    err = capsys.readouterr().err
    assert "INFO alembic.runtime.migration: Running upgrade" in err
    assert "alembic.runtime.plugins" not in err
    assert "INFO shelterwatch: database at head" in err


def test_third_party_info_stays_out_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json_lines=False)
    _emit_all()
    err = capsys.readouterr().err
    assert "third-party" not in err
    assert "broker info" not in err
    assert "WARNING amqtt.broker: broker warning" in err
    assert "INFO telemetry.ingest: own info" in err
    assert "INFO api.http: api info" in err
    assert "own debug" not in err


def test_debug_lets_everything_through(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", json_lines=False)
    _emit_all()
    err = capsys.readouterr().err
    for text in ("third-party debug", "third-party info", "broker info", "own debug"):
        assert text in err


def test_warning_keeps_our_info_out_too(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("WARNING", json_lines=False)
    _emit_all()
    err = capsys.readouterr().err
    assert "own info" not in err
    assert "broker info" not in err
    assert "WARNING shelterwatch: own warning" in err
    assert "WARNING amqtt.broker: broker warning" in err


def test_loggers_set_apart_are_reset_by_the_next_configure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("INFO", json_lines=False, levels={"amqtt": "INFO", "telemetry": "WARNING"})
    _emit_all()
    err = capsys.readouterr().err
    assert "INFO amqtt.broker: broker info" in err
    assert "third-party info" not in err  # transitions is not under amqtt
    assert "own info" not in err

    logs.configure("INFO", json_lines=False)
    _emit_all()
    err = capsys.readouterr().err
    assert "broker info" not in err
    assert "INFO telemetry.ingest: own info" in err


def test_log_levels_setting_is_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELTERWATCH_LOG_LEVELS", " amqtt=info, uvicorn.access = WARNING ,")
    assert Settings(_env_file=None).log_levels == {"amqtt": "INFO", "uvicorn.access": "WARNING"}
    monkeypatch.delenv("SHELTERWATCH_LOG_LEVELS")
    assert Settings(_env_file=None).log_levels == {}


@pytest.mark.parametrize("value", ["amqtt", "amqtt=LOUD", "=INFO", "a b=INFO"])
def test_bad_log_levels_setting_is_a_configuration_error(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHELTERWATCH_LOG_LEVELS", value)
    assert main(["tick"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert "log_levels" in err
