"""The rectification notice PDF: its text read back with pypdf and pdftotext, its fonts as
pdffonts lists them, its pages drawn by pdftoppm on a machine without any font, and the
document built from a follow-up in the database."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from inspection.access import SYSTEM, Actor
from inspection.documents.fonts import load_font
from inspection.documents.notice import (
    DEFAULT_LEGAL_BASIS,
    NoticeDocument,
    NoticeFinding,
    notice_document,
    render_notice_pdf,
)
from inspection.errors import InvalidInput, NotFound
from inspection.models import Finding, Followup, FollowupFinding, Role, Shelter, User
from inspection.registry import create_shelter
from inspection.schemas import ShelterCreate, UserCreate
from inspection.users import create_user
from tests import pdf_tools

NOW = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def font() -> str:
    return load_font(None)


def _document(**overrides: Any) -> NoticeDocument:
    fields: dict[str, Any] = {
        "number": "ZG2026-0042",
        "issued_at": NOW,
        "due_at": datetime(2026, 5, 16, 15, 59, tzinfo=UTC),
        "shelter_code": "DC-001",
        "shelter_name": "东城区和平里人防工程",
        "shelter_address": "和平路1号地下一层",
        "district": "东城区",
        "responsible_unit": "北京和平物业管理有限公司",
        "manager_name": "李建国",
        "manager_phone": "13800000001",
        "class_level": 2,
        "findings": (
            NoticeFinding("防护设备锈蚀、油漆脱落", "S1", "东侧防护密闭门"),
            NoticeFinding("堆放杂物、环境卫生差", "S1", "通道内堆放纸箱 <约10箱> & 旧家具"),
        ),
    }
    fields.update(overrides)
    return NoticeDocument(**fields)


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", "", text)


def _file(pdf: bytes, tmp_path: Path, name: str = "notice.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def test_notice_pdf_carries_the_notice_text(font: str) -> None:
    pdf = render_notice_pdf(_document(), font=font)
    assert pdf.startswith(b"%PDF-")
    pages, text = _text(pdf)
    assert pages == 1
    assert "人防工程整改通知书" in text
    assert "编号：ZG2026-0042" in text
    assert "北京和平物业管理有限公司：" in text
    assert "东城区和平里人防工程" in text
    assert "位于东城区和平路1号地下一层" in text
    assert "2026年5月1日，市人民防空办公室" in text
    assert "评定为二类" in text
    for heading in ("序号", "存在问题", "等级", "具体情况"):
        assert heading in text
    assert "防护设备锈蚀、油漆脱落" in text
    assert "堆放杂物、环境卫生差" in text
    assert "通道内堆放纸箱<约10箱>&旧家具" in text
    assert "请于2026年5月16日前完成整改" in text  # 15:59 UTC is 23:59 in Shanghai
    assert "照片" in text and "东城区人民防空主管部门" in text
    assert "《中华人民共和国人民防空法》第二十五条" in text
    assert "第四十九条所列行为" in text
    assert "可以对单位处一万元至五万元罚款" in text
    assert "市人民防空办公室（盖章）" in text
    assert "签收人：" in text and "签收日期：" in text
    assert "工程长：李建国；联系电话：13800000001。" in text
    assert "重点督导" not in text and "问题台账" not in text


def test_every_font_is_embedded_as_a_subset(font: str, tmp_path: Path) -> None:
    path = _file(render_notice_pdf(_document(), font=font), tmp_path)
    fonts = pdf_tools.fonts(path)
    assert fonts, "the notice names no font"
    assert all(f.embedded and f.subset for f in fonts), fonts
    assert {f.type for f in fonts} == {"TrueType"}


def test_chinese_is_drawn_on_a_machine_without_fonts(font: str, tmp_path: Path) -> None:
    path = _file(render_notice_pdf(_document(), font=font), tmp_path)
    assert pdf_tools.chinese_is_drawn(path, tmp_path) == []
    text = pdf_tools.text(path)
    assert "人防工程整改通知书" in text
    assert "请于2026年5月16日前完成整改" in text
    assert "工程长：李建国；联系电话：13800000001。" in text


def test_no_line_starts_with_a_chinese_punctuation_mark(font: str, tmp_path: Path) -> None:
    # A name of this length puts a full-width comma at the start of a line unless it hangs.
    lines = []
    for n in range(12, 40):
        doc = _document(shelter_name="和平里" * (n // 3) + "人防工程"[: n % 3 + 1])
        path = _file(render_notice_pdf(doc, font=font), tmp_path, f"n{n}.pdf")
        lines += pdf_tools.lines(path)
    starts = {line[0] for line in lines if line}
    assert not starts & set("，。、；：？！）》”"), starts & set("，。、；：？！）》”")


def test_deadline_date_follows_the_time_zone(font: str) -> None:
    due = datetime(2026, 5, 16, 16, 30, tzinfo=UTC)
    _, shanghai = _text(render_notice_pdf(_document(due_at=due), font=font))
    _, utc = _text(render_notice_pdf(_document(due_at=due, tz="UTC"), font=font))
    assert "请于2026年5月17日前完成整改" in shanghai
    assert "请于2026年5月16日前完成整改" in utc


def test_class3_names_the_ledger_and_its_checkpoint(font: str) -> None:
    doc = _document(
        number="TZ2026-0003",
        class_level=3,
        checkpoint_at=NOW + timedelta(days=15),
        due_at=NOW + timedelta(days=30),
    )
    _, text = _text(render_notice_pdf(doc, font=font))
    assert "评定为三类" in text
    assert "已列入问题台账，由专人跟踪督导，2026年5月16日进行中期检查" in text
    assert "请于2026年5月31日前完成整改" in text


def test_class4_carries_its_three_milestones_with_dates(font: str, tmp_path: Path) -> None:
    doc = _document(
        number="DB2026-0001",
        class_level=4,
        containment_due_at=NOW + timedelta(hours=72),
        plan_due_at=NOW + timedelta(days=7),
        due_at=NOW + timedelta(days=90),
        findings=(
            NoticeFinding("顶板、底板、临空墙、防护密闭墙穿墙打洞", "S3", "B区临空墙", True),
        ),
    )
    path = _file(render_notice_pdf(doc, font=font), tmp_path)
    text = pdf_tools.text(path)
    assert "评定为四类" in text
    assert "该工程已列为重点督导工程" in text
    assert "控制险情72小时内采取措施控制险情，消除安全隐患2026年5月4日9时30分前" in text
    assert "报送方案7日内报送整改方案2026年5月8日前" in text
    assert "完成整改90日内完成全面整改，报请核查销号2026年7月30日前" in text
    assert "将依法移交执法部门查处" in text
    assert pdf_tools.chinese_is_drawn(path, tmp_path) == []


def test_a_class4_notice_without_illegal_act_threatens_no_referral(font: str) -> None:
    doc = _document(
        class_level=4,
        containment_due_at=NOW + timedelta(hours=72),
        plan_due_at=NOW + timedelta(days=7),
        due_at=NOW + timedelta(days=90),
        findings=(NoticeFinding("结构裂缝、沉降，需鉴定", "S3", ""),),
    )
    _, text = _text(render_notice_pdf(doc, font=font))
    assert "控制险情" in text and "执法部门" not in text


def test_missing_contact_says_so_and_the_district_is_written_once(font: str) -> None:
    doc = _document(
        manager_name=None, manager_phone=None, shelter_address="东城区和平路1号地下一层"
    )
    _, text = _text(render_notice_pdf(doc, font=font))
    assert "工程长：未登记；联系电话：未登记。" in text
    assert "—" not in text
    assert "位于东城区和平路1号地下一层）" in text
    assert "东城区东城区" not in text


def test_many_findings_run_onto_more_pages_with_every_title(font: str) -> None:
    findings = tuple(
        NoticeFinding(f"第{i}项问题：防护密闭门闭锁不严，需要更换密封胶条", "S2", "")
        for i in range(1, 41)
    )
    doc = _document(findings=findings, office="区人防办")
    pages, text = _text(render_notice_pdf(doc, font=font))
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


def _seed_notice(session: Session, kind: str = "notice", **manager: Any) -> tuple[Followup, User]:
    _user(session, "mgr_li", Role.MANAGER, **manager)
    other = _user(session, "mgr_zhou", Role.MANAGER)
    _shelter(session, "XC-009", name="西城工程", district="西城区", manager="mgr_zhou")
    shelter = _shelter(
        session,
        "DC-001",
        name="东城区和平里人防工程",
        district="东城区",
        address="东城区和平路1号",
        responsible_unit="和平物业",
        manager="mgr_li",
    )
    followup = Followup(
        number="TZ2026-0007",
        kind=kind,
        shelter_id=shelter.id,
        class_level=3,
        status="open",
        issued_at=NOW,
        due_at=NOW + timedelta(days=30),
        checkpoint_at=NOW + timedelta(days=15),
    )
    session.add(followup)
    session.flush()
    for item, severity, note in (("DOOR-NOT-CLOSING", 2, "主入口"), ("SIGN-INCOMPLETE", 1, "")):
        finding = Finding(
            shelter_id=shelter.id, item_code=item, severity=severity, note=note, created_at=NOW
        )
        session.add(finding)
        session.flush()
        session.add(FollowupFinding(followup_id=followup.id, finding_id=finding.id))
    session.flush()
    return followup, other


def test_notice_document_is_built_from_the_followup(session: Session, font: str) -> None:
    followup, _ = _seed_notice(session, display_name="李建国", phone="13800000001")
    printed = NOW + timedelta(days=2)
    doc = notice_document(session, followup.id, actor=SYSTEM, now=printed, tz="Asia/Shanghai")
    assert (doc.number, doc.class_level, doc.issued_at, doc.due_at, doc.checkpoint_at) == (
        "TZ2026-0007",
        3,
        NOW,
        NOW + timedelta(days=30),
        NOW + timedelta(days=15),
    )
    assert (doc.shelter_code, doc.shelter_name, doc.shelter_address, doc.district) == (
        "DC-001",
        "东城区和平里人防工程",
        "东城区和平路1号",
        "东城区",
    )
    assert (doc.responsible_unit, doc.manager_name, doc.manager_phone) == (
        "和平物业",
        "李建国",
        "13800000001",
    )
    assert doc.findings == (
        NoticeFinding("人防门（防护密闭门、密闭门）开闭不合、无法闭锁", "S2", "主入口"),
        NoticeFinding("标识标牌缺失或信息不全（名称、用途、工程长联系方式）", "S1", ""),
    )
    assert doc.printed_at == printed
    _, text = _text(render_notice_pdf(doc, font=font))
    assert "人防门（防护密闭门、密闭门）开闭不合、无法闭锁" in text
    assert "SIGN-INCOMPLETE" not in text and "DOOR-NOT-CLOSING" not in text
    assert "位于东城区和平路1号）" in text
    assert "工程长：李建国；联系电话：13800000001。" in text
    assert "请于2026年5月31日前完成整改" in text
    assert "打印于2026-05-0309:30" in text


def test_the_login_name_is_not_the_managers_name(session: Session) -> None:
    followup, _ = _seed_notice(session)
    doc = notice_document(session, followup.id, actor=SYSTEM, now=NOW, tz="Asia/Shanghai")
    assert (doc.manager_name, doc.manager_phone) == (None, None)


def test_notice_document_is_not_found_out_of_scope_or_missing(session: Session) -> None:
    followup, other = _seed_notice(session)
    outsider = Actor(id=other.id, username=other.username, role=Role.MANAGER)
    tz = "Asia/Shanghai"
    with pytest.raises(NotFound):
        notice_document(session, followup.id, actor=outsider, now=NOW, tz=tz)
    officer = Actor(id=999, username="do_west", role=Role.DISTRICT_OFFICER, district="西城区")
    with pytest.raises(NotFound):
        notice_document(session, followup.id, actor=officer, now=NOW, tz=tz)
    with pytest.raises(NotFound):
        notice_document(session, followup.id + 100, actor=SYSTEM, now=NOW, tz=tz)


def test_a_referral_has_no_notice(session: Session) -> None:
    followup, _ = _seed_notice(session, kind="referral")
    with pytest.raises(InvalidInput) as refused:
        notice_document(session, followup.id, actor=SYSTEM, now=NOW, tz="Asia/Shanghai")
    assert refused.value.code == "not_a_notice"


def test_notices_built_at_once_each_carry_their_own_text(font: str, tmp_path: Path) -> None:
    """Requests render in a thread pool and reportlab's subsetting state is shared by the
    process: without ``fonts.rendering()`` a run like this one corrupts some subsets
    (KeyError in makeSubset) often, though not on every run."""
    names = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"

    def build(i: int) -> tuple[NoticeDocument, bytes]:
        doc = _document(
            number=f"ZG2026-{i:04d}",
            shelter_name=f"{names[i % 20]}{names[i * 7 % 20]}号人防工程",
            findings=tuple(
                NoticeFinding(f"问题{names[(i + k) % 20]}{k}", "S1", "") for k in range(10)
            ),
        )
        return doc, render_notice_pdf(doc, font=font)

    with ThreadPoolExecutor(max_workers=8) as pool:
        built = list(pool.map(build, range(40)))
    for doc, pdf in built:
        text = pdf_tools.text(_file(pdf, tmp_path))
        assert doc.number in text and doc.shelter_name in text
        assert all(f.title in text for f in doc.findings)
