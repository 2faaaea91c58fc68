"""The rectification notice PDF: its text read back with pypdf, and the document built
from a follow-up in the database."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from inspection.access import SYSTEM, Actor
from inspection.errors import InvalidInput, NotFound
from inspection.models import Finding, Followup, FollowupFinding, Role, Shelter, User
from inspection.notice_pdf import (
    DEFAULT_LEGAL_BASIS,
    NoticeDocument,
    NoticeFinding,
    notice_document,
    render_notice_pdf,
)
from inspection.registry import create_shelter
from inspection.schemas import ShelterCreate, UserCreate
from inspection.users import create_user

NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
PASSWORD = "correct-horse-battery"


def _document(**overrides: Any) -> NoticeDocument:
    fields: dict[str, Any] = {
        "number": "ZG-2026-0042",
        "issued_at": NOW,
        "due_at": datetime(2026, 5, 16, 15, 59, tzinfo=UTC),
        "shelter_code": "DC-001",
        "shelter_name": "东城区和平里人防工程",
        "shelter_address": "和平路1号地下一层",
        "district": "东城区",
        "responsible_unit": "北京和平物业管理有限公司",
        "manager_name": "李工",
        "manager_phone": "13800000001",
        "class_level": 2,
        "findings": (
            NoticeFinding("EQ-RUST", "防护设备锈蚀、油漆脱落", "S1", "东侧防护密闭门"),
            NoticeFinding(
                "CIVIL-DEBRIS", "堆放杂物、环境卫生差", "S1", "通道内堆放纸箱 <约10箱> & 旧家具"
            ),
        ),
    }
    fields.update(overrides)
    return NoticeDocument(**fields)


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", "", text)


def test_notice_pdf_carries_the_notice_text() -> None:
    pdf = render_notice_pdf(_document())
    assert pdf.startswith(b"%PDF-")
    pages, text = _text(pdf)
    assert pages == 1
    assert "人防工程整改通知书" in text
    assert "编号：ZG-2026-0042" in text
    assert "北京和平物业管理有限公司：" in text
    assert "东城区和平里人防工程" in text
    assert "评定为二类" in text
    for heading in ("序号", "检查项", "问题描述", "等级", "备注"):
        assert heading in text
    assert "防护设备锈蚀、油漆脱落" in text
    assert "堆放杂物、环境卫生差" in text
    assert "通道内堆放纸箱<约10箱>&旧家具" in text
    assert "请于2026年05月16日前完成整改" in text  # 15:59 UTC is 23:59 in Shanghai
    assert "照片" in text and "东城区人民防空主管部门" in text
    assert "《中华人民共和国人民防空法》第二十五条" in text
    assert "第四十九条所列行为" in text
    assert "可以对单位处一万元至五万元罚款" in text
    assert "市人民防空办公室（盖章）" in text
    assert "2026年05月01日" in text
    assert "签收人：" in text and "签收日期：" in text
    assert "李工" in text and "13800000001" in text


def test_deadline_date_follows_the_time_zone() -> None:
    due = datetime(2026, 5, 16, 16, 30, tzinfo=UTC)
    _, shanghai = _text(render_notice_pdf(_document(due_at=due)))
    _, utc = _text(render_notice_pdf(_document(due_at=due, tz="UTC")))
    assert "请于2026年05月17日前完成整改" in shanghai
    assert "请于2026年05月16日前完成整改" in utc


def test_many_findings_run_onto_more_pages_with_every_title() -> None:
    findings = tuple(
        NoticeFinding(
            f"ITEM-{i:02d}", f"第{i}项问题：防护密闭门闭锁不严，需要更换密封胶条", "S2", ""
        )
        for i in range(1, 41)
    )
    pages, text = _text(render_notice_pdf(_document(findings=findings, office="区人防办")))
    assert pages > 1
    for i in range(1, 41):
        assert f"第{i}项问题" in text
    assert "区人防办（盖章）" in text
    assert DEFAULT_LEGAL_BASIS.replace(" ", "") in text


def _user(session: Session, username: str, role: Role, **extra: Any) -> User:
    data = UserCreate(username=username, role=role, password=PASSWORD, **extra)
    return create_user(session, data, actor=SYSTEM, now=NOW)[0]


def _shelter(session: Session, code: str, **fields: Any) -> Shelter:
    data = ShelterCreate.model_validate({"code": code, **fields})
    return create_shelter(session, data, actor=SYSTEM, now=NOW)


def _seed_notice(session: Session, kind: str = "notice") -> tuple[Followup, User]:
    manager = _user(session, "mgr_li", Role.MANAGER, display_name="李工", phone="13800000001")
    other = _user(session, "mgr_zhou", Role.MANAGER)
    _shelter(session, "XC-009", name="西城工程", district="西城区", manager="mgr_zhou")
    shelter = _shelter(
        session,
        "DC-001",
        name="东城区和平里人防工程",
        district="东城区",
        address="和平路1号",
        responsible_unit="和平物业",
        manager="mgr_li",
    )
    assert manager.id != other.id
    followup = Followup(
        number="ZG-2026-0007",
        kind=kind,
        shelter_id=shelter.id,
        class_level=3,
        status="open",
        issued_at=NOW,
        due_at=NOW + timedelta(days=30),
    )
    session.add(followup)
    session.flush()
    for item, severity, note in (("DOOR-NOT-CLOSING", 2, "主入口"), ("EQ-RUST", 1, "")):
        finding = Finding(
            shelter_id=shelter.id, item_code=item, severity=severity, note=note, created_at=NOW
        )
        session.add(finding)
        session.flush()
        session.add(FollowupFinding(followup_id=followup.id, finding_id=finding.id))
    session.flush()
    return followup, other


def test_notice_document_is_built_from_the_followup(session: Session) -> None:
    followup, _ = _seed_notice(session)
    doc = notice_document(session, followup.id, actor=SYSTEM, now=NOW + timedelta(days=2))
    assert (doc.number, doc.class_level, doc.issued_at, doc.due_at) == (
        "ZG-2026-0007",
        3,
        NOW,
        NOW + timedelta(days=30),
    )
    assert (doc.shelter_code, doc.shelter_name, doc.shelter_address, doc.district) == (
        "DC-001",
        "东城区和平里人防工程",
        "和平路1号",
        "东城区",
    )
    assert (doc.responsible_unit, doc.manager_name, doc.manager_phone) == (
        "和平物业",
        "李工",
        "13800000001",
    )
    assert doc.findings == (
        NoticeFinding(
            "DOOR-NOT-CLOSING", "人防门（防护密闭门、密闭门）开闭不合、无法闭锁", "S2", "主入口"
        ),
        NoticeFinding("EQ-RUST", "防护设备锈蚀、油漆脱落", "S1", ""),
    )
    assert doc.printed_at == NOW + timedelta(days=2)
    _, text = _text(render_notice_pdf(doc))
    assert "人防门（防护密闭门、密闭门）开闭不合、无法闭锁" in text
    assert "请于2026年05月31日前完成整改" in text
    assert "打印于2026-05-0317:30" in text


def test_notice_document_is_not_found_out_of_scope_or_missing(session: Session) -> None:
    followup, other = _seed_notice(session)
    outsider = Actor(id=other.id, username=other.username, role=Role.MANAGER)
    with pytest.raises(NotFound):
        notice_document(session, followup.id, actor=outsider, now=NOW)
    officer = Actor(id=999, username="do_west", role=Role.DISTRICT_OFFICER, district="西城区")
    with pytest.raises(NotFound):
        notice_document(session, followup.id, actor=officer, now=NOW)
    with pytest.raises(NotFound):
        notice_document(session, followup.id + 100, actor=SYSTEM, now=NOW)


def test_a_referral_has_no_notice(session: Session) -> None:
    followup, _ = _seed_notice(session, kind="referral")
    with pytest.raises(InvalidInput) as refused:
        notice_document(session, followup.id, actor=SYSTEM, now=NOW)
    assert refused.value.code == "not_a_notice"
