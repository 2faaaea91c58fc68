"""The shelter sign: what it prints, its QR code read back with zbarimg, its fonts, and its
pages drawn on a machine without fonts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inspection.documents.fonts import load_font
from inspection.documents.sign import SignDocument, render_signs_pdf, sign_url
from tests import pdf_tools

BASE = "https://rf.example.gov.cn/app/"


@pytest.fixture(scope="module")
def font() -> str:
    return load_font(None)


def _sign(**overrides: Any) -> SignDocument:
    fields: dict[str, Any] = {
        "code": "DC-001",
        "name": "东城区和平里人防工程",
        "district": "东城区",
        "address": "和平路1号地下一层",
        "wartime_function": "人员掩蔽",
        "peacetime_use": "地下停车场",
        "responsible_unit": "北京和平物业管理有限公司",
        "manager_name": "李建国",
        "manager_phone": "13800000001",
        "url": sign_url(BASE, overrides.get("code", "DC-001")),
    }
    fields.update(overrides)
    return SignDocument(**fields)


def _file(pdf: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "sign.pdf"
    path.write_bytes(pdf)
    return path


def test_the_link_is_the_web_apps_page_of_the_shelter() -> None:
    assert sign_url("http://127.0.0.1:8000", "SH-001") == (
        "http://127.0.0.1:8000/#/shelters/SH-001/inspect"
    )
    assert sign_url(BASE, "a_b-1") == "https://rf.example.gov.cn/app/#/shelters/a_b-1/inspect"


def test_a_sign_prints_the_register_and_a_qr_code_to_the_shelter(font: str, tmp_path: Path) -> None:
    path = _file(render_signs_pdf([_sign()], font=font), tmp_path)
    text = pdf_tools.text(path)
    for expected in (
        "人民防空工程",
        "东城区和平里人防工程",
        "工程编号DC-001",
        "战时功能人员掩蔽",
        "平时用途地下停车场",
        "维护管理单位北京和平物业管理有限公司",
        "工程长李建国",
        "联系电话13800000001",
        "工程地址东城区和平路1号地下一层",
        "扫码进入本工程巡查页面",
        "市人民防空办公室监制",
    ):
        assert expected in text
    assert pdf_tools.qr_codes(path, tmp_path) == [
        ["https://rf.example.gov.cn/app/#/shelters/DC-001/inspect"]
    ]
    fonts = pdf_tools.fonts(path)
    assert fonts and all(f.embedded and f.subset for f in fonts), fonts
    assert pdf_tools.chinese_is_drawn(path, tmp_path) == []


def test_what_the_register_lacks_shows_as_unregistered(font: str, tmp_path: Path) -> None:
    sign = _sign(wartime_function="", peacetime_use="", manager_name=None, manager_phone=None)
    text = pdf_tools.text(_file(render_signs_pdf([sign], font=font), tmp_path))
    assert "战时功能未登记平时用途未登记" in text
    assert "工程长未登记联系电话未登记" in text


def test_the_longest_register_values_still_fit_one_page(font: str, tmp_path: Path) -> None:
    sign = _sign(
        code="X" * 64,
        name="和平里人防工程" * 28,
        address="和平路" * 100,
        wartime_function="掩" * 64,
        peacetime_use="用" * 128,
        responsible_unit="物业" * 100,
        manager_name="名" * 128,
        manager_phone="1" * 32,
    )
    path = _file(render_signs_pdf([sign], font=font), tmp_path)
    [page] = pdf_tools.render_without_fonts(path, tmp_path)
    assert page.height > page.width  # A4 portrait, one page
    assert pdf_tools.qr_codes(path, tmp_path) == [[sign.url]]
    text = pdf_tools.text(path)
    assert "X" * 64 in text and "1" * 32 in text


def test_a_batch_is_one_page_per_shelter(font: str, tmp_path: Path) -> None:
    signs = [_sign(code=f"DC-{n:03d}", name=f"和平里{n}号人防工程") for n in range(1, 4)]
    path = _file(render_signs_pdf(signs, font=font), tmp_path)
    assert pdf_tools.qr_codes(path, tmp_path) == [[s.url] for s in signs]
    assert [w.page for w in pdf_tools.words(path) if w.text.startswith("DC-0")] == [1, 2, 3]
