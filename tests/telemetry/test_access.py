"""The broker's topic rules (pure) and the embedded broker's account file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry.access import (
    AccountRole,
    filter_covered,
    is_reserved,
    sensor_account,
    service_account,
    topic_matches,
)
from telemetry.broker_access import AccessTable, EmbeddedCredentials
from telemetry.errors import AccountConflict


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("shelters/+/+/telemetry", "shelters/SH1/S1/telemetry", True),
        ("shelters/+/+/telemetry", "shelters/SH1/S1/alerts", False),
        ("shelters/+/+/telemetry", "shelters/SH1/telemetry", False),
        ("shelters/+/+/telemetry", "shelters/SH1/S1/telemetry/x", False),
        ("shelters/+/alerts", "shelters/SH1/alerts", True),
        ("shelters/+/alerts", "shelters//alerts", True),
        ("shelters/#", "shelters/SH1/S1/telemetry", True),
        ("#", "$SYS/broker/uptime", False),
        ("+/x", "$share/x", False),
        ("shelters/SH1/S1/telemetry", "shelters/SH1/S1/telemetry", True),
        ("shelters/SH1/S1/telemetry", "shelters/SH1/S2/telemetry", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("granted", "requested", "expected"),
    [
        ("shelters/+/+/telemetry", "shelters/+/+/telemetry", True),
        ("shelters/+/+/telemetry", "shelters/SH1/+/telemetry", True),
        ("shelters/+/+/telemetry", "shelters/SH1/S1/telemetry", True),
        ("shelters/+/+/telemetry", "shelters/#", False),
        ("shelters/+/+/telemetry", "#", False),
        ("shelters/+/+/telemetry", "shelters/+/alerts", False),
        ("shelters/+/alerts", "shelters/+/+/telemetry", False),
        ("$share/+/shelters/+/+/telemetry", "$share/ingest/shelters/+/+/telemetry", True),
        ("$share/+/shelters/+/+/telemetry", "$share/ingest/shelters/#", False),
        ("shelters/#", "shelters/+/alerts", True),
        ("shelters/SH1/alerts", "shelters/+/alerts", False),
    ],
)
def test_filter_covered(granted: str, requested: str, expected: bool) -> None:
    assert filter_covered(granted, requested) is expected


def test_what_each_role_may_do() -> None:
    sensor = sensor_account("S1", "SH1", "pw")
    ingester = service_account("shelterwatch-ingest", AccountRole.INGESTER, "pw")
    platform = service_account("shelterwatch-platform", AccountRole.PLATFORM, "pw")
    simulator = service_account("shelterwatch-simulator", AccountRole.SIMULATOR, "pw")
    own, other = "shelters/SH1/S1/telemetry", "shelters/SH1/S2/telemetry"
    alert = "shelters/SH1/alerts"
    table = {
        # account: (publish own, publish other, publish alert, subscribe telemetry,
        #           subscribe shared telemetry, subscribe alerts, receive telemetry,
        #           receive alerts)
        "sensor": (sensor, (True, False, False, False, False, False, False, False)),
        "ingester": (ingester, (False, False, True, True, True, False, True, False)),
        "platform": (platform, (False, False, False, False, False, True, False, True)),
        "simulator": (simulator, (True, True, False, False, False, False, False, False)),
    }
    for name, (account, expected) in table.items():
        got = (
            account.may_publish(own),
            account.may_publish(other),
            account.may_publish(alert),
            account.may_subscribe("shelters/+/+/telemetry"),
            account.may_subscribe("$share/ingest/shelters/+/+/telemetry"),
            account.may_subscribe("shelters/+/alerts"),
            account.may_receive(own),
            account.may_receive(alert),
        )
        assert got == expected, name


def test_logins_and_client_ids() -> None:
    sensor = sensor_account("S1", "SH1", "secret")
    assert sensor.admits("secret", "S1")
    assert not sensor.admits("secret", "S2")
    assert not sensor.admits("secret", "shelterwatch-ingest")
    assert not sensor.admits("wrong", "S1")
    assert not sensor.admits(None, "S1")
    platform = service_account("shelterwatch-platform", AccountRole.PLATFORM, "p")
    assert platform.admits("p", "shelterwatch-platform")
    assert not platform.admits("p", "shelterwatch-ingest")
    ingester = service_account("shelterwatch-ingest", AccountRole.INGESTER, "i")
    assert ingester.admits("i", "shelterwatch-ingest-2-alerts")
    assert "secret" not in sensor.password_sha256


@pytest.mark.parametrize(
    ("name", "reserved"),
    [("shelterwatch-ingest", True), ("ShelterWatch-x", True), ("SW-1", False), ("S1", False)],
)
def test_reserved_names(name: str, reserved: bool) -> None:
    assert is_reserved(name) is reserved


# -- the account file ------------------------------------------------------------------------
def test_a_sensor_issued_in_one_process_logs_in_at_the_other(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    broker_side = AccessTable(
        path, [service_account("shelterwatch-ingest", AccountRole.INGESTER, "i")]
    )
    api_side = EmbeddedCredentials(AccessTable(path))
    login = api_side.issue("S1", "SH1")
    account = broker_side.account("S1")
    assert account is not None and account.admits(login.password, "S1")
    assert account.may_publish("shelters/SH1/S1/telemetry")
    assert login.password not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600

    moved = api_side.issue("S1", "SH2")
    account = broker_side.account("S1")
    assert account is not None and not account.admits(login.password, "S1")
    assert account.admits(moved.password, "S1")
    assert account.may_publish("shelters/SH2/S1/telemetry")
    assert not account.may_publish("shelters/SH1/S1/telemetry")
    assert broker_side.drain_changed() == {"S1"}

    api_side.revoke("S1")
    assert broker_side.account("S1") is None
    assert broker_side.drain_changed() == {"S1"}
    assert broker_side.account("shelterwatch-ingest") is not None


def test_a_new_account_is_not_reported_as_changed(tmp_path: Path) -> None:
    table = AccessTable(tmp_path / "accounts.json")
    EmbeddedCredentials(table).issue("S1", "SH1")
    assert table.drain_changed() == set()


def test_concurrent_writers_keep_each_others_accounts(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    one, two = EmbeddedCredentials(AccessTable(path)), EmbeddedCredentials(AccessTable(path))
    for n in range(5):
        one.issue(f"A{n}", "SH1")
        two.issue(f"B{n}", "SH1")
    names = {a["username"] for a in json.loads(path.read_text())["accounts"]}
    assert names == {f"A{n}" for n in range(5)} | {f"B{n}" for n in range(5)}


def test_an_unreadable_file_admits_no_sensor(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    table = AccessTable(path, [service_account("shelterwatch-ingest", AccountRole.INGESTER, "i")])
    EmbeddedCredentials(AccessTable(path)).issue("S1", "SH1")
    assert table.account("S1") is not None
    path.write_text("{not json")
    assert table.account("S1") is None
    assert table.account("shelterwatch-ingest") is not None


def test_system_names_are_never_a_sensors(tmp_path: Path) -> None:
    table = AccessTable(
        tmp_path / "accounts.json",
        [service_account("shelterwatch-ingest", AccountRole.INGESTER, "i")],
    )
    with pytest.raises(AccountConflict):
        EmbeddedCredentials(table).issue("shelterwatch-ingest", "SH1")
    with pytest.raises(AccountConflict):
        table.put(service_account("x", AccountRole.PLATFORM, "p"))
    account = table.account("shelterwatch-ingest")
    assert account is not None and account.admits("i", "shelterwatch-ingest")
