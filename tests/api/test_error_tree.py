"""Each domain package's error tree, as its ``errors`` module documents it (class, HTTP status,
code), is what the API answers: the table in the docstring and ``api.http.errors.STATUS``
cannot drift apart, and every class of the tree is documented."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from api.http.errors import STATUS, status_for
from inspection import errors as inspection_errors
from telemetry import errors as telemetry_errors

_ROW = re.compile(r"^(?:[├└]── )?(?P<name>[A-Z]\w+)\s+(?P<status>\d{3})\s+(?P<code>[a-z_]+)\s")


def _documented(module: ModuleType) -> dict[str, tuple[int, str]]:
    rows = (_ROW.match(line) for line in (module.__doc__ or "").splitlines())
    return {m["name"]: (int(m["status"]), m["code"]) for m in rows if m}


@pytest.mark.parametrize(
    ("module", "base"),
    [
        (inspection_errors, inspection_errors.InspectionError),
        (telemetry_errors, telemetry_errors.TelemetryError),
    ],
)
def test_the_documented_tree_is_the_answered_one(module: ModuleType, base: type) -> None:
    classes = {
        name: klass
        for name, klass in vars(module).items()
        if isinstance(klass, type) and issubclass(klass, base)
    }
    documented = _documented(module)
    assert set(documented) == set(classes)
    for name, (status, code) in documented.items():
        error = classes[name]("refused")
        assert (status_for(error), error.code) == (status, code), name
        assert error.message == "refused"
        assert error.details is None


def test_a_raise_may_name_a_more_precise_code_and_keep_its_class_status() -> None:
    error = inspection_errors.NotFound("no shelter SH-9", code="shelter_not_found", details=[1])
    assert (status_for(error), error.code, error.details) == (404, "shelter_not_found", [1])
    assert (
        status_for(telemetry_errors.InvalidSetting("bad URL"))
        == STATUS[telemetry_errors.InvalidSetting]
    )
    assert isinstance(telemetry_errors.InvalidSetting("bad URL"), ValueError)
