"""Logins under attack: throttling per account and per client address (with the database as
the shared memory of several API processes), the password policy, revocation of issued
tokens (password change, logout), and the platform account's rotating API key."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from api.app import create_app
from api.db import session_factory
from api.processes import cli
from api.settings import Settings
from api.state import AppState
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.logins import LoginPolicy
from inspection.models import Role
from telemetry.sql_store import SqlReadingStore, SqlRejectStore
from tests.api.conftest import error_of
from tests.conftest import PASSWORD, TEST_SECRET, FakeClock, Login, UserFactory

NEW_PASSWORD = "violet-tugboat-lantern"
ME = "/api/v1/me/shelters"


def login(client: TestClient, username: str, password: str) -> Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(response: Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# ---------------------------------------------------------------- the lock's arithmetic


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (4, 0), (5, 15), (6, 30), (7, 60), (8, 120), (9, 240), (10, 300), (500, 300)],
)
def test_an_accounts_lock_doubles_from_the_fifth_failure_up_to_five_minutes(
    failures: int, seconds: int
) -> None:
    policy = LoginPolicy()
    assert policy.lock_s(failures, free=5, cap=policy.account_max_lock_s) == seconds


def test_a_window_shorter_than_a_lock_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="window"):
        Settings(login_failure_window_minutes=5, _env_file=None)  # type: ignore[call-arg]


# ---------------------------------------------------------------- throttling


def test_wrong_passwords_lock_the_account_and_the_right_one_waits(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    manager = make_user(Role.MANAGER)
    for _ in range(5):
        assert error_of(login(client, manager.username, "wrong-password-1")) == (
            401,
            "bad_credentials",
        )
    r = login(client, manager.username, PASSWORD)
    assert error_of(r) == (429, "too_many_attempts")
    assert r.headers["Retry-After"] == "15"
    assert r.json()["error"]["details"] == {"retry_after": 15, "locked": "account"}
    clock.advance(seconds=14)
    assert login(client, manager.username, PASSWORD).headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert login(client, manager.username, PASSWORD).status_code == 200
    # The right password started the account afresh: five free failures again.
    for _ in range(4):
        assert login(client, manager.username, "wrong-password-1").status_code == 401
    assert login(client, manager.username, PASSWORD).status_code == 200


def test_the_accounts_lock_grows_but_never_past_five_minutes(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    """An attacker who keeps guessing gets a few tries an hour; the owner, elsewhere, waits at
    most five minutes after the attacker's last try."""
    manager = make_user(Role.MANAGER)
    for _ in range(4):
        login(client, manager.username, "wrong-password-1")
    waits = []
    for _ in range(8):
        assert login(client, manager.username, "wrong-password-1").status_code == 401
        r = login(client, manager.username, "wrong-password-1")
        waits.append(int(r.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
    assert waits == [15, 30, 60, 120, 240, 300, 300, 300]
    owner = TestClient(client.app, client=("198.51.100.7", 50000))
    assert (
        owner.post(
            "/api/v1/auth/token", data={"username": manager.username, "password": PASSWORD}
        ).status_code
        == 200
    )


def test_failures_from_one_address_across_accounts_lock_that_address_only(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    """Password spraying: one guess at each of many accounts from one address."""
    manager = make_user(Role.MANAGER)
    for n in range(20):
        assert login(client, f"someone{n}", "Spring2026!").status_code == 401
    r = login(client, manager.username, PASSWORD)
    assert error_of(r) == (429, "too_many_attempts")
    assert r.json()["error"]["details"]["locked"] == "client"
    assert r.headers["Retry-After"] == "15"
    other = TestClient(client.app, client=("198.51.100.7", 50000))
    assert (
        other.post(
            "/api/v1/auth/token", data={"username": manager.username, "password": PASSWORD}
        ).status_code
        == 200
    )
    clock.advance(seconds=15)
    assert login(client, manager.username, PASSWORD).status_code == 200
    # A success takes back its own attempt only: the address stays at 20 failures.
    assert login(client, "someone-else", "Spring2026!").status_code == 401
    assert login(client, manager.username, PASSWORD).headers["Retry-After"] == "30"


def test_an_ipv6_client_counts_by_its_64_network(
    client: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    for n in range(20):
        host = TestClient(client.app, client=(f"2001:db8:0:1::{n + 1:x}", 50000))
        assert (
            host.post(
                "/api/v1/auth/token", data={"username": f"x{n}", "password": "Spring2026!"}
            ).status_code
            == 401
        )
    neighbour = TestClient(client.app, client=("2001:db8:0:1:ffff::1", 50000))
    r = neighbour.post(
        "/api/v1/auth/token", data={"username": manager.username, "password": PASSWORD}
    )
    assert error_of(r) == (429, "too_many_attempts")


def test_unknown_usernames_are_throttled_like_real_ones(client: TestClient) -> None:
    answers = []
    for _ in range(6):
        answers.append(login(client, "no-such-user", "wrong-password-1").status_code)
    assert answers == [401] * 5 + [429]


def test_failures_forgotten_after_an_hour_without_one(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    manager = make_user(Role.MANAGER)
    for _ in range(4):
        login(client, manager.username, "wrong-password-1")
    clock.advance(minutes=61)
    for _ in range(4):
        assert login(client, manager.username, "wrong-password-1").status_code == 401
    assert login(client, manager.username, PASSWORD).status_code == 200


@pytest.fixture
def second_process(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    """Another API process on the same database (its own state, registry and engine)."""
    other = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key=TEST_SECRET,
        clock=clock,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
    )
    with TestClient(create_app(other)) as test_client:
        yield test_client


def test_counts_are_shared_by_processes_and_survive_a_restart(
    client: TestClient, second_process: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    for attempt in range(5):
        target = client if attempt % 2 else second_process
        assert login(target, manager.username, "wrong-password-1").status_code == 401
    assert error_of(login(second_process, manager.username, PASSWORD)) == (
        429,
        "too_many_attempts",
    )
    assert error_of(login(client, manager.username, PASSWORD)) == (429, "too_many_attempts")


def test_failures_are_counted_in_metrics_and_logged_without_the_password(
    client: TestClient, make_user: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    manager = make_user(Role.MANAGER)
    with caplog.at_level(logging.WARNING, logger="shelterwatch.auth"):
        for _ in range(6):
            login(client, manager.username, "hunter2-secret-guess")
    metrics = client.get("/metrics").text
    assert 'shelterwatch_login_failures_total{reason="bad_credentials"} 5.0' in metrics
    assert 'shelterwatch_login_failures_total{reason="throttled"} 1.0' in metrics
    assert "shelterwatch_login_successes_total 1.0" in metrics  # make_user's login
    # Only the login log: whatever configured logging earlier in the run may let others in.
    messages = [r.getMessage() for r in caplog.records if r.name == "shelterwatch.auth"]
    assert len(messages) == 6
    assert all(manager.username in m and "testclient" in m for m in messages)
    assert not any("hunter2" in m for m in messages)


# ---------------------------------------------------------------- the password policy


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("aaaaaaaaaa", id="repeats"),
        pytest.param("password12", id="common"),
        pytest.param("qwertyuiop", id="keyboard"),
        pytest.param("newcomer01", id="username"),
        pytest.param("short-1", id="short"),
    ],
)
def test_guessable_passwords_are_refused_when_a_user_is_created(
    client: TestClient, make_user: UserFactory, password: str
) -> None:
    admin = make_user(Role.ADMIN)
    r = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"username": "newcomer01", "role": "manager", "password": password},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] in ("weak_password", "validation_error")


def test_guessable_passwords_are_refused_when_an_admin_sets_one(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER, username="liwei-manager")
    for weak in ("liwei-manager", "password12", "aaaaaaaaaa"):
        r = client.patch(
            f"/api/v1/users/{manager.username}", headers=admin.headers, json={"password": weak}
        )
        assert error_of(r) == (422, "weak_password"), weak
    assert login(client, manager.username, PASSWORD).status_code == 200


@pytest.mark.usefixtures("cli_env")
def test_the_cli_refuses_a_guessable_password(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["user", "create", "ops-admin", "--role", "admin", "--password"]
    assert cli.main([*args, "password12"]) == 1
    assert "too weak" in capsys.readouterr().err
    assert cli.main([*args, NEW_PASSWORD]) == 0
    assert "created admin ops-admin" in capsys.readouterr().out


# ---------------------------------------------------------------- revoking tokens


def test_changing_ones_password_revokes_the_tokens_issued_before(
    client: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    laptop = bearer(login(client, manager.username, PASSWORD))
    phone = bearer(login(client, manager.username, PASSWORD))
    r = client.post(
        "/api/v1/me/password",
        headers=phone,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    fresh = bearer(r)
    for old in (laptop, phone):
        assert error_of(client.get(ME, headers=old)) == (401, "token_revoked")
    assert client.get(ME, headers=fresh).status_code == 200
    assert login(client, manager.username, PASSWORD).status_code == 401
    assert login(client, manager.username, NEW_PASSWORD).status_code == 200


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(
    client: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    url = "/api/v1/me/password"
    body = {"current_password": PASSWORD, "new_password": "password12"}
    assert error_of(client.post(url, headers=manager.headers, json=body)) == (
        422,
        "weak_password",
    )
    body = {"current_password": PASSWORD, "new_password": PASSWORD}
    assert error_of(client.post(url, headers=manager.headers, json=body)) == (
        422,
        "same_password",
    )
    wrong = {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert error_of(client.post(url, headers=manager.headers, json=wrong)) == (
            403,
            "wrong_password",
        )
    # Wrong current passwords count toward the account's login limit (refused answers
    # with a right current password took their attempt back).
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert error_of(client.post(url, headers=manager.headers, json=right)) == (
        429,
        "too_many_attempts",
    )
    assert error_of(login(client, manager.username, PASSWORD)) == (429, "too_many_attempts")


def test_an_admin_setting_a_password_revokes_the_users_tokens(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    before = bearer(login(client, manager.username, PASSWORD))
    r = client.patch(
        f"/api/v1/users/{manager.username}",
        headers=admin.headers,
        json={"password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text
    assert error_of(client.get(ME, headers=before)) == (401, "token_revoked")


def test_logout_revokes_the_tokens_issued_before(
    client: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    first = bearer(login(client, manager.username, PASSWORD))
    second = bearer(login(client, manager.username, PASSWORD))
    r = client.post("/api/v1/auth/logout", headers=second)
    assert r.status_code == 204
    for old in (first, second):
        assert error_of(client.get(ME, headers=old)) == (401, "token_revoked")
        assert error_of(client.post("/api/v1/auth/logout", headers=old)) == (
            401,
            "token_revoked",
        )
    again = bearer(login(client, manager.username, PASSWORD))
    assert client.get(ME, headers=again).status_code == 200


def test_logout_and_password_change_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    logout = paths["/api/v1/auth/logout"]["post"]
    assert {"204", "401"} <= set(logout["responses"])
    change = paths["/api/v1/me/password"]["post"]
    assert {"200", "401", "403", "422", "429"} <= set(change["responses"])
    assert "Retry-After" in change["responses"]["429"]["headers"]
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert "/api/v1/users/{username}/api-key" in paths


# ---------------------------------------------------------------- the platform account


def test_a_platform_account_cannot_be_given_a_password(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    platform = make_user(Role.PLATFORM)
    r = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"username": "city-brain", "role": "platform", "password": NEW_PASSWORD},
    )
    assert error_of(r) == (422, "platform_password")
    r = client.patch(
        f"/api/v1/users/{platform.username}",
        headers=admin.headers,
        json={"password": NEW_PASSWORD},
    )
    assert error_of(r) == (422, "platform_password")
    assert login(client, platform.username, NEW_PASSWORD).status_code == 401


def _rotate(client: TestClient, admin: Login, platform: Login, **body: int) -> Response:
    return client.post(
        f"/api/v1/users/{platform.username}/api-key", headers=admin.headers, json=body or None
    )


def test_a_rotated_api_key_works_beside_the_new_one_for_a_grace_period(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    admin = make_user(Role.ADMIN)
    platform = make_user(Role.PLATFORM)
    old = platform.headers
    r = _rotate(client, admin, platform)
    assert r.status_code == 200, r.text
    new = {"X-API-Key": r.json()["api_key"]}
    assert r.json()["previous_key_valid_until"] == "2026-06-02T02:00:00Z"
    assert new != old
    summary = "/api/v1/platform/summary"
    for key in (old, new):
        assert client.get(summary, headers=key).status_code == 200
    clock.advance(hours=24)
    assert error_of(client.get(summary, headers=old)) == (401, "invalid_api_key")
    assert client.get(summary, headers=new).status_code == 200


def test_a_leaked_key_stops_at_once_and_only_the_last_key_keeps_a_grace(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    platform = make_user(Role.PLATFORM)
    first = platform.headers
    second = {"X-API-Key": _rotate(client, admin, platform).json()["api_key"]}
    r = _rotate(client, admin, platform, grace_hours=0)
    assert r.json()["previous_key_valid_until"] is None
    third = {"X-API-Key": r.json()["api_key"]}
    summary = "/api/v1/platform/summary"
    assert [client.get(summary, headers=k).status_code for k in (first, second, third)] == [
        401,
        401,
        200,
    ]
    log = client.get(
        "/api/v1/audit",
        headers=admin.headers,
        params={"entity": "user", "entity_id": str(platform.id)},
    ).json()["items"]
    assert [e["action"] for e in log[:2]] == ["user.rotate_api_key"] * 2
    assert not any("api_key_hash" in str(e) for e in log)


def test_only_admins_rotate_and_only_platform_accounts_have_keys(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    platform = make_user(Role.PLATFORM)
    manager = make_user(Role.MANAGER)
    assert error_of(_rotate(client, platform, platform)) == (403, "role_forbidden")
    assert error_of(_rotate(client, admin, manager)) == (422, "not_platform")
    r = client.post(
        f"/api/v1/users/{platform.username}/api-key",
        headers=admin.headers,
        json={"grace_hours": True},
    )
    assert error_of(r) == (422, "validation_error")


@pytest.mark.usefixtures("cli_env")
def test_the_cli_rotates_a_key(
    client: TestClient, make_user: UserFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = make_user(Role.PLATFORM)
    assert cli.main(["user", "rotate-key", platform.username, "--grace-hours", "0"]) == 0
    out = capsys.readouterr().out
    key = out.split("API key (shown once): ")[1].split()[0]
    assert "the previous key no longer works" in out
    summary = "/api/v1/platform/summary"
    assert client.get(summary, headers=platform.headers).status_code == 401
    assert client.get(summary, headers={"X-API-Key": key}).status_code == 200
