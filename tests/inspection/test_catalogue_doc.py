"""docs/catalogue.md is generated from the shipped catalogue data (scripts/catalogue_doc.py);
these tests fail as soon as the page and the data disagree."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from inspection.catalogue import CURRENT_VERSION, load_catalogue, shipped_versions
from inspection.grading import Severity

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "catalogue.md"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "catalogue_doc", ROOT / "scripts" / "catalogue_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_what_the_data_generates(generator: ModuleType) -> None:
    assert DOC.read_text(encoding="utf-8") == generator.render(), (
        "docs/catalogue.md is stale: run .venv/bin/python scripts/catalogue_doc.py"
    )


def _tables(page: str) -> dict[str, dict[str, list[str]]]:
    """version → code → the cells of its row, read back from the page."""
    tables: dict[str, dict[str, list[str]]] = {}
    rows: dict[str, list[str]] = {}
    for line in page.splitlines():
        if line.startswith("## Version "):
            rows = tables.setdefault(line.removeprefix("## Version ").split()[0], {})
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1:]
    return tables


def test_every_shipped_item_is_on_the_page_as_the_data_says() -> None:
    """Independently of the generator: each version's table holds exactly its items."""
    tables = _tables(DOC.read_text(encoding="utf-8"))
    assert CURRENT_VERSION in shipped_versions()
    assert sorted(tables) == sorted(shipped_versions())
    for version in shipped_versions():
        items = load_catalogue(version).items
        assert list(tables[version]) == [item.code for item in items]
        for item in items:
            title, category, severity, illegal = tables[version][item.code]
            assert (title, category) == (item.title, item.category)
            assert severity.startswith(item.default_severity.label + " ")
            assert illegal.startswith("yes") == item.illegal_act


def test_a_change_in_the_data_changes_the_page(generator: ModuleType) -> None:
    catalogue = load_catalogue()
    first = catalogue.items[0]
    raised = replace(first, default_severity=Severity.S3, illegal_act=True)
    changed = replace(catalogue, items=(raised, *catalogue.items[1:]))
    page = generator.render([changed])
    assert page != generator.render([catalogue])
    assert f"| `{first.code}` | {first.title} | {first.category} | S3 (class 4) | yes" in page


def test_check_mode_tells_a_stale_page_from_a_fresh_one(
    generator: ModuleType, tmp_path: Path
) -> None:
    page = tmp_path / "catalogue.md"
    assert generator.main(["--check", "--path", str(page)]) == 1  # missing
    assert generator.main(["--path", str(page)]) == 0
    assert generator.main(["--check", "--path", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("S2 (class 3)", "S1 (class 2)", 1))
    assert generator.main(["--check", "--path", str(page)]) == 1
