"""The ``shelterwatch`` command answers every expected failure with one ``error: …`` line on
standard error and exit status 1, never a traceback: a database URL it cannot use, a database
or broker that does not answer, a missing or invalid file, input that breaks a rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.processes.cli import main
from tests.telemetry.brokers import free_port


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A process environment of the test's own: local state and an SQLite database in
    ``tmp_path``, no broker administration, no policy file."""
    for name in (
        "SHELTERWATCH_MQTT_ADMIN_URL",
        "SHELTERWATCH_MQTT_URL",
        "SHELTERWATCH_POLICY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHELTERWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    return tmp_path


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line error of a command that must fail with status 1."""
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense://u:s3cret@db/x", "Can't load plugin"),
        ("postgresql+nodriver://u:s3cret@db/x", "Can't load plugin"),
        ("not a url at all", "Could not parse"),
    ],
)
def test_a_database_url_that_cannot_be_used(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    says: str,
) -> None:
    monkeypatch.setenv("SHELTERWATCH_DATABASE_URL", url)
    for argv in (["db", "upgrade"], ["tick"]):
        err = _fails(argv, capsys)
        assert "SHELTERWATCH_DATABASE_URL cannot be used" in err
        assert says in err
        assert "s3cret" not in err


def test_a_database_that_does_not_answer(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "SHELTERWATCH_DATABASE_URL",
        f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{free_port()}/records",
    )
    err = _fails(["db", "upgrade"], capsys)
    assert err.startswith("error: the database is not answering: ")
    assert "s3cret" not in err


def test_an_unreachable_or_malformed_broker_admin_url(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "SHELTERWATCH_MQTT_ADMIN_URL" in _fails(["broker", "setup"], capsys)

    port = free_port()
    monkeypatch.setenv("SHELTERWATCH_MQTT_ADMIN_URL", f"mqtt://admin:pw@127.0.0.1:{port}")
    for argv in (
        ["broker", "setup"],
        ["broker", "account", "shelterwatch-x", "--role", "ingester"],
    ):
        assert f"cannot reach the MQTT broker at 127.0.0.1:{port}" in _fails(argv, capsys)

    monkeypatch.setenv("SHELTERWATCH_MQTT_ADMIN_URL", "http://admin:s3cret@127.0.0.1:1883")
    err = _fails(["broker", "setup"], capsys)
    assert "must start with mqtt:// or mqtts://, not http://" in err
    assert "s3cret" not in err

    monkeypatch.setenv("SHELTERWATCH_MQTT_ADMIN_URL", "mqtt://127.0.0.1:1883")
    assert "needs a user name and password" in _fails(["broker", "setup"], capsys)


def test_an_unreachable_broker_for_the_simulator(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("SHELTERWATCH_MQTT_URL", f"mqtt://sim:pw@127.0.0.1:{port}")
    err = _fails(["simulate", "--count", "1"], capsys)
    assert f"cannot reach MQTT broker 127.0.0.1:{port}" in err
    assert "batch must be 1..1000" in _fails(["simulate", "--count", "1", "--batch", "0"], capsys)


def test_a_missing_or_invalid_policy_file(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = env / "policy.json"
    monkeypatch.setenv("SHELTERWATCH_POLICY_FILE", str(missing))
    assert f"policy file {missing} cannot be read" in _fails(["tick"], capsys)
    missing.write_text('{"class2": {"deadline_days": 0}}', encoding="utf-8")
    assert f"policy file {missing} is not a valid policy" in _fails(["tick"], capsys)


def test_invalid_input_to_a_command(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(["user", "create", "clerk", "--role", "admin", "--password", "short"], capsys)
    assert "password" in err
    assert main(["user", "create", "feed", "--role", "platform"]) == 0
    assert _fails(["user", "create", "feed", "--role", "platform"], capsys) == (
        "error: user 'feed' exists\n"
    )
    assert _fails(["user", "rotate-key", "nobody"], capsys) == "error: no user 'nobody'\n"


def test_the_installed_command_prints_the_message_and_exits_1(env: Path) -> None:
    """The console script itself, in a process of its own: one line, status 1."""
    environment = {**os.environ, "SHELTERWATCH_DATABASE_URL": "nonsense://u:s3cret@db/x"}
    done = subprocess.run(
        [sys.executable, "-m", "api.processes.cli", "db", "upgrade"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: SHELTERWATCH_DATABASE_URL cannot be used: ")
    assert "Traceback" not in done.stderr
