"""The finding catalogue: checklist items with default severity and illegal-act flag.

The catalogue is versioned data shipped in ``inspection/data/catalogue-<version>.json``;
an inspection records the version it was graded against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from inspection.grading import Severity

CURRENT_VERSION = "2026.1"


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    title: str
    category: str
    default_severity: Severity
    illegal_act: bool


@dataclass(frozen=True, slots=True)
class Catalogue:
    version: str
    items: tuple[CatalogueItem, ...]

    def get(self, code: str) -> CatalogueItem | None:
        return _index(self).get(code)

    def title(self, code: str) -> str:
        """The item's Chinese title, as notices, screens and messages show it; the code
        itself when this version has no such item."""
        item = self.get(code)
        return item.title if item else code


@cache
def _index(catalogue: Catalogue) -> dict[str, CatalogueItem]:
    return {item.code: item for item in catalogue.items}


_PREFIX = "catalogue-"
_SUFFIX = ".json"


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Orders ``2026.2`` before ``2026.10``: numeric parts by value, before any text part."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in version.split(".")
    )


def shipped_versions() -> tuple[str, ...]:
    """Every catalogue version shipped in ``inspection/data/``, oldest first."""
    data = resources.files("inspection") / "data"
    names = (entry.name for entry in data.iterdir() if entry.is_file())
    found = [
        name[len(_PREFIX) : -len(_SUFFIX)]
        for name in names
        if name.startswith(_PREFIX) and name.endswith(_SUFFIX)
    ]
    return tuple(sorted(found, key=_version_key))


@cache
def load_catalogue(version: str = CURRENT_VERSION) -> Catalogue:
    """Load a shipped catalogue version; ``KeyError`` when no such version ships."""
    name = f"{_PREFIX}{version}{_SUFFIX}"
    path = resources.files("inspection") / "data" / name
    if not path.is_file():
        raise KeyError(version)
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = tuple(
        CatalogueItem(
            code=row["code"],
            title=row["title"],
            category=row["category"],
            default_severity=Severity.parse(row["default_severity"]),
            illegal_act=bool(row["illegal_act"]),
        )
        for row in raw["items"]
    )
    return Catalogue(version=raw["version"], items=items)
