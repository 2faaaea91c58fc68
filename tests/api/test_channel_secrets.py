"""Channel secrets never show: not in the audit log, not in API answers, not in log lines."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api import logs
from inspection.models import Role
from tests.conftest import PASSWORD, UserFactory

HOOK_SECRET = "hook-secret-0123456789"
WECOM_KEY = "wecom-key-693a91f6"
DING_TOKEN = "ding-token-1c0ffee"
DING_SECRET = "SECding-secret-42"
PROFILE = {
    "email": True,
    "webhook": {"url": "https://hooks.example.cn/sw", "secret": HOOK_SECRET},
    "wecom": {"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"},
    "dingtalk": {
        "url": f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}",
        "secret": DING_SECRET,
    },
}
SECRETS = (HOOK_SECRET, WECOM_KEY, DING_TOKEN, DING_SECRET)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_secrets_are_masked_in_answers_and_the_audit_log(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    r = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "username": "mgr-hooks",
            "role": "manager",
            "password": PASSWORD,
            "channels": PROFILE,
        },
    )
    assert r.status_code == 201, r.text
    assert _leaks(r.text) == []
    channels = r.json()["channels"]
    assert channels["webhook"] == {"url": "https://hooks.example.cn/sw", "secret": "***"}
    assert channels["wecom"]["url"].endswith("send?key=***")
    assert channels["dingtalk"]["url"].endswith("access_token=***")
    assert channels["dingtalk"]["secret"] == "***"
    r = client.patch(
        "/api/v1/users/mgr-hooks",
        headers=admin.headers,
        json={"channels": {**PROFILE, "webhook": {**PROFILE["webhook"], "secret": "x" * 20}}},
    )
    assert r.status_code == 200, r.text
    answers = [r.text]
    for path in ("/api/v1/users", "/api/v1/audit", "/api/v1/me"):
        answer = client.get(path, headers=admin.headers)
        assert answer.status_code == 200
        answers.append(answer.text)
    manager = client.post(
        "/api/v1/auth/token", data={"username": "mgr-hooks", "password": PASSWORD}
    ).json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {manager}"})
    answers.append(me.text)
    assert [_leaks(a) for a in answers] == [[]] * len(answers)
    audit = client.get("/api/v1/audit", headers=admin.headers, params={"entity": "user"}).json()
    create = next(e for e in audit["items"] if e["action"] == "user.create")
    assert create["after"]["channels"]["webhook"]["secret"] == "***"
    assert create["after"]["channels"]["wecom"]["url"].endswith("key=***")


def test_a_masked_value_sent_back_is_refused(client: TestClient, make_user: UserFactory) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    for channels in (
        {"dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=***"}},
        {
            "dingtalk": {
                "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                "secret": "***",
            }
        },
        {"wecom": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"}},
    ):
        r = client.patch(
            f"/api/v1/users/{manager.username}", headers=admin.headers, json={"channels": channels}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_channels")


@pytest.mark.parametrize("json_lines", [False, True])
def test_log_lines_mask_channel_keys(capsys: pytest.CaptureFixture[str], json_lines: bool) -> None:
    logs.configure("INFO", json_lines=json_lines, levels={"httpx": "INFO"})
    try:
        logging.getLogger("httpx").info(
            'HTTP Request: POST %s "HTTP/1.1 200 OK"', PROFILE["wecom"]["url"]
        )
        logging.getLogger("api.notify").warning(
            "delivery failed: %s", PROFILE["dingtalk"]["url"] + f"&sign={DING_SECRET}"
        )
    finally:
        logs.configure("INFO", json_lines=False)
    err = capsys.readouterr().err
    assert _leaks(err) == []
    assert "key=***" in err
    assert "access_token=***" in err
    if json_lines:
        assert all(json.loads(line) for line in err.splitlines())
