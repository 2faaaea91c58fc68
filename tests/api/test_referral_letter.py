"""The referral letter (移送函) over HTTP: what it states (the illegal acts in the catalogue's
wording, the shelter, the inspection date, the history of the same findings, the legal basis
and the city's fine range), the photos it embeds, its embedded font and who may have it
(SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.state import AppState
from inspection.documents.referral import MAX_PHOTOS_PER_FINDING
from tests import pdf_tools
from tests.api.conftest import CODE, DISTRICT_A, World, error_of
from tests.api.test_documents import _name_manager, _pdf, _register
from tests.images import png

WALL = "STRUCT-WALL-PENETRATION"
WALL_TITLE = "顶板、底板、临空墙、防护密闭墙穿墙打洞"
OCCUPATION_TITLE = "侵占人防工程"


@pytest.fixture
def referred(world: World, client: TestClient) -> dict[str, Any]:
    """A class 4 inspection of CODE finding a wall drilled through (with five photos) and an
    occupation, both illegal acts, and rust; containment recorded by the 工程长."""
    _register(
        world,
        address=f"{DISTRICT_A}中山东一路1号地下一层",
        responsible_unit="外滩物业管理有限公司",
        responsible_unit_contact="赵主任",
        responsible_unit_phone="010-66001234",
    )
    _name_manager(world, world.manager, "王建国", "13912345678")
    body = world.api.inspect(
        world.inspector,
        CODE,
        {"item": WALL, "note": "临空墙开洞约1.2米×0.8米"},
        {"item": "OCCUPATION", "note": "被改作仓库"},
        "EQ-RUST",
    )
    wall = body["findings"][0]
    r = client.post(
        f"/api/v1/inspections/{body['id']}/photos",
        headers=world.inspector.headers,
        data={"finding_id": str(wall["id"])},
        files=[("files", (f"p{i}.png", png(400, 300, seed=i), "image/png")) for i in range(5)],
    )
    assert r.status_code == 201, r.text
    kinds = {(f["kind"], tuple(f["finding_ids"])): f for f in body["followups"]}
    key = next(f for (k, _), f in kinds.items() if k == "key_supervision")
    referral = kinds[("referral", (wall["id"],))]
    r = client.post(
        f"/api/v1/followups/{key['id']}/milestones/containment",
        headers=world.manager.headers,
        data={"note": "已封堵洞口"},
        files=[("files", ("c.png", png(seed=9), "image/png"))],
    )
    assert r.status_code == 201, r.text
    return {"key": key, "referral": referral}


def test_the_letter_states_the_acts_the_shelter_the_history_and_the_law(
    world: World, referred: dict[str, Any], client: TestClient, tmp_path: Path
) -> None:
    referral, key = referred["referral"], referred["key"]
    assert referral["number"] == "YJ2026-0001"
    path = _pdf(
        client.get(f"/api/v1/referrals/{referral['id']}.pdf", headers=world.officer.headers),
        tmp_path,
    )
    text = pdf_tools.text(path)
    assert "人防工程违法行为移送函" in text
    assert "编号：YJ2026-0001" in text
    assert "市城市管理综合行政执法局：" in text
    assert "2026年6月1日，市人民防空办公室对人防工程“工程SH-001”" in text
    for value in (CODE, "黄浦区中山东一路1号地下一层", "外滩物业管理有限公司", "王建国"):
        assert value in text
    assert "检查日期2026年6月1日" in text
    assert "单位联系人赵主任010-66001234" in text
    assert f"1.{WALL_TITLE}：临空墙开洞约1.2米×0.8米（尚未整改）" in text
    assert f"附检查现场照片{MAX_PHOTOS_PER_FINDING}张（共5张，其余存档备查）" in text
    assert OCCUPATION_TITLE not in text  # the occupation is a referral of its own
    assert key["number"] in text and "重点督导" in text
    assert "2026年6月1日控制险情" in text  # the containment recorded
    assert "第四十九条" in text
    assert "本市对单位的罚款幅度为10000元至50000元" in text
    assert all(f.embedded and f.subset for f in pdf_tools.fonts(path))
    photos = pdf_tools.images(path)
    assert len(photos) == MAX_PHOTOS_PER_FINDING
    assert {(p.width, p.height) for p in photos} == {(400, 300)}
    assert not pdf_tools.chinese_is_drawn(path, tmp_path)


def test_the_letter_goes_to_the_configured_unit_and_cites_the_citys_rules(
    world: World, referred: dict[str, Any], client: TestClient, state: AppState, tmp_path: Path
) -> None:
    state.settings.referral_authority = "黄浦区人民防空综合执法大队"
    state.settings.local_rules = "《本市人民防空工程管理办法》第三十条"
    r = client.post(
        f"/api/v1/followups/{referred['referral']['id']}/outcome",
        headers=world.officer.headers,
        json={"status": "fined", "fine_yuan": 20000},
    )
    assert r.status_code == 200, r.text
    text = pdf_tools.text(
        _pdf(
            client.get(
                f"/api/v1/referrals/{referred['referral']['id']}.pdf",
                headers=world.api.admin.headers,
            ),
            tmp_path,
        )
    )
    assert "黄浦区人民防空综合执法大队：" in text
    assert "《本市人民防空工程管理办法》第三十条" in text
    assert "记录处理结果：罚款20000元" in text


def test_only_those_who_see_the_referral_get_its_letter(
    world: World, referred: dict[str, Any], client: TestClient
) -> None:
    url = f"/api/v1/referrals/{referred['referral']['id']}.pdf"
    assert client.get(url, headers=world.manager.headers).status_code == 200
    assert error_of(client.get(url, headers=world.officer_b.headers)) == (
        404,
        "followup_not_found",
    )
    assert error_of(
        client.get("/api/v1/referrals/987654.pdf", headers=world.api.admin.headers)
    ) == (404, "followup_not_found")
    r = client.get(f"/api/v1/referrals/{referred['key']['id']}.pdf", headers=world.officer.headers)
    assert error_of(r) == (422, "not_a_referral")
