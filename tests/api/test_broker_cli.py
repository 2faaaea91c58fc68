"""``shelterwatch broker setup|account`` against a Mosquitto of the test's own with the
dynamic-security plugin (a free port; never the system broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.processes.cli import main
from telemetry.access import ALERTS_FILTER, TELEMETRY_FILTER
from tests.telemetry.brokers import ADMIN, DynsecMosquitto, Probe, mosquitto_available

needs_mosquitto = pytest.mark.skipif(
    not mosquitto_available(), reason="mosquitto with the plugin missing"
)


def _password(output: str) -> str:
    return output.strip().rsplit(": ", 1)[1]


@pytest.mark.mqtt
@needs_mosquitto
def test_setup_and_system_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with DynsecMosquitto(tmp_path / "broker") as broker:
        monkeypatch.setenv(
            "SHELTERWATCH_MQTT_ADMIN_URL",
            f"mqtt://{ADMIN}:{broker.admin_password}@127.0.0.1:{broker.port}",
        )
        monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "var"))
        assert main(["broker", "setup"]) == 0
        assert main(["broker", "setup"]) == 0  # again: nothing changes
        capsys.readouterr()
        name = "shelterwatch-ingest-7"
        assert main(["broker", "account", name, "--role", "ingester"]) == 0
        first = _password(capsys.readouterr().out)

        ingester = Probe(broker.address, f"{name}-x", (name, first), protocol="5")
        assert not ingester.connect().is_failure
        assert not ingester.subscribe(TELEMETRY_FILTER).is_failure
        assert not ingester.subscribe(f"$share/ingest/{TELEMETRY_FILTER}").is_failure
        assert ingester.subscribe(ALERTS_FILTER).is_failure
        ingester.close()

        assert main(["broker", "account", name, "--role", "ingester"]) == 0
        second = _password(capsys.readouterr().out)
        assert second != first
        stale = Probe(broker.address, f"{name}-x", (name, first), protocol="5")
        assert stale.connect().is_failure
        stale.close()

        capsys.readouterr()
        assert main(["broker", "account", "ingest-1", "--role", "ingester"]) == 1
        assert "named shelterwatch-" in capsys.readouterr().err


def test_without_the_admin_url_the_commands_say_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHELTERWATCH_MQTT_ADMIN_URL", raising=False)
    monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "var"))
    for argv in (
        ["broker", "setup"],
        ["broker", "account", "shelterwatch-x", "--role", "platform"],
    ):
        assert main(argv) == 1
        assert "set SHELTERWATCH_MQTT_ADMIN_URL" in capsys.readouterr().err
