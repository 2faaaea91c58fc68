"""Finding the PDF font: the configured file, else the first of the search list; a clear
refusal when there is none or it cannot be embedded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inspection.documents.fonts import SEARCH_PATHS, find_font, load_font
from inspection.errors import Unavailable


def test_the_default_search_finds_the_font_bootstrap_installs() -> None:
    assert find_font(None) == SEARCH_PATHS[0]
    assert load_font(None) == load_font(SEARCH_PATHS[0])  # registered once


def test_a_configured_font_is_used_before_the_search(tmp_path: Path) -> None:
    chosen = tmp_path / "font.ttc"
    shutil.copyfile(SEARCH_PATHS[0], chosen)
    assert find_font(chosen, search=(tmp_path / "absent.ttf",)) == chosen
    assert load_font(chosen).endswith("-font")


def test_a_configured_font_that_is_missing_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "none.ttf"
    with pytest.raises(Unavailable) as refused:
        find_font(missing)
    assert refused.value.code == "pdf_font_missing"
    assert str(missing) in refused.value.message
    assert "SHELTERWATCH_PDF_FONT" in refused.value.message


def test_nothing_found_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    search = (tmp_path / "a.ttc", tmp_path / "b.ttf")
    with pytest.raises(Unavailable) as refused:
        load_font(None, search)
    assert refused.value.code == "pdf_font_missing"
    message = refused.value.message
    assert all(str(p) in message for p in search)
    assert "SHELTERWATCH_PDF_FONT" in message and "fonts-wqy-microhei" in message


def test_a_file_that_is_no_truetype_font_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"OTTO" + b"\x00" * 200)  # what an OpenType/CFF file starts with
    with pytest.raises(Unavailable) as refused:
        load_font(bogus)
    assert refused.value.code == "pdf_font_unusable"
    assert "TrueType" in refused.value.message
