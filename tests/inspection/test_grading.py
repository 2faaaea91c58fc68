"""The grading rules of the city's policy (docs/domain.md), table-driven: severity → class,
raising but never lowering a severity, S1 fixed on the spot, deadlines per class (default and
per-city policy), and the shipped catalogue against the city's checklist typed here by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from inspection.catalogue import CURRENT_VERSION, load_catalogue
from inspection.errors import InvalidInput
from inspection.grading import (
    Deadlines,
    FollowupPolicy,
    GradedFinding,
    Severity,
    Weakening,
    class_for,
    deadlines_for,
    effective_severity,
    finding_is_open_at_grading,
    weakenings,
)

S1, S2, S3 = Severity.S1, Severity.S2, Severity.S3
ISSUED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _open(severity: Severity) -> GradedFinding:
    return GradedFinding(severity, open=True)


def _closed(severity: Severity) -> GradedFinding:
    return GradedFinding(severity, open=False)


@pytest.mark.parametrize(
    ("findings", "floor", "expected"),
    [
        pytest.param([], None, 1, id="no-findings"),
        pytest.param([_open(S1)], None, 2, id="open-S1"),
        pytest.param([_open(S2)], None, 3, id="open-S2"),
        pytest.param([_open(S3)], None, 4, id="open-S3"),
        pytest.param([_open(S1), _open(S1)], None, 2, id="two-S1"),
        pytest.param([_open(S1), _open(S2)], None, 3, id="S1-and-S2"),
        pytest.param([_open(S1), _open(S3), _open(S2)], None, 4, id="highest-wins"),
        pytest.param([_closed(S1)], None, 1, id="closed-S1-ignored"),
        pytest.param([_closed(S3)], None, 1, id="closed-S3-ignored"),
        pytest.param([_closed(S3), _open(S1)], None, 2, id="closed-S3-open-S1"),
        pytest.param([_closed(S3), _closed(S2), _open(S2)], None, 3, id="closed-mixed-open-S2"),
        pytest.param([], 3, 3, id="floor-over-no-findings"),
        pytest.param([_open(S1)], 3, 3, id="floor-over-S1"),
        pytest.param([_open(S2)], 4, 4, id="floor-4-over-S2"),
        pytest.param([_open(S3)], 3, 4, id="S3-above-floor"),
        pytest.param([_closed(S3)], 2, 2, id="floor-with-closed"),
    ],
)
def test_class_for(findings: list[GradedFinding], floor: int | None, expected: int) -> None:
    assert class_for(findings, floor=floor) == expected


def test_class_for_accepts_a_generator() -> None:
    assert class_for(_open(s) for s in (S1, S2)) == 3


@pytest.mark.parametrize(
    ("default", "requested", "expected"),
    [
        (S1, None, S1),
        (S2, None, S2),
        (S3, None, S3),
        (S1, S1, S1),
        (S1, S2, S2),
        (S1, S3, S3),
        (S2, S2, S2),
        (S2, S3, S3),
        (S3, S3, S3),
    ],
)
def test_effective_severity_keeps_or_raises(
    default: Severity, requested: Severity | None, expected: Severity
) -> None:
    assert effective_severity(default, requested) is expected


@pytest.mark.parametrize(("default", "requested"), [(S2, S1), (S3, S1), (S3, S2)])
def test_effective_severity_never_lowers(default: Severity, requested: Severity) -> None:
    with pytest.raises(ValueError, match=f"{requested.name} is below the item's default"):
        effective_severity(default, requested)


@pytest.mark.parametrize(("text", "expected"), [("S1", S1), ("s2", S2), ("S3", S3)])
def test_severity_parse(text: str, expected: Severity) -> None:
    assert Severity.parse(text) is expected


@pytest.mark.parametrize("text", ["S0", "S4", "", "high", "1"])
def test_severity_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="severity must be S1, S2 or S3"):
        Severity.parse(text)


@pytest.mark.parametrize(
    ("severity", "fixed_on_spot", "is_open"),
    [
        (S1, True, False),
        (S1, False, True),
        (S2, True, True),
        (S2, False, True),
        (S3, True, True),
        (S3, False, True),
    ],
)
def test_finding_is_open_at_grading(severity: Severity, fixed_on_spot: bool, is_open: bool) -> None:
    assert finding_is_open_at_grading(severity, fixed_on_spot) is is_open


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (2, Deadlines(due_at=ISSUED + timedelta(days=15))),
        (
            3,
            Deadlines(
                due_at=ISSUED + timedelta(days=30), checkpoint_at=ISSUED + timedelta(days=15)
            ),
        ),
        (
            4,
            Deadlines(
                due_at=ISSUED + timedelta(days=90),
                containment_due_at=ISSUED + timedelta(hours=72),
                plan_due_at=ISSUED + timedelta(days=7),
            ),
        ),
    ],
)
def test_default_deadlines(level: int, expected: Deadlines) -> None:
    assert deadlines_for(level, ISSUED, FollowupPolicy()) == expected


@pytest.mark.parametrize("level", [0, 1, 5])
def test_no_deadlines_outside_classes_2_to_4(level: int) -> None:
    with pytest.raises(ValueError, match=f"class {level} has no follow-up"):
        deadlines_for(level, ISSUED, FollowupPolicy())


def test_default_policy_matches_domain() -> None:
    policy = FollowupPolicy.load(None)
    assert policy.class2.remind_days_before == [3]
    assert policy.class2.escalate_after_overdue_days == 7
    assert policy.class3.remind_days_before == [7, 1]
    assert policy.class3.escalate_after_overdue_days == 30


CITY_POLICY = {
    "class2": {"deadline_days": 10, "remind_days_before": [5, 2], "escalate_after_overdue_days": 3},
    "class3": {"deadline_days": 20, "checkpoint_day": 8},
    "class4": {"containment_hours": 24, "plan_days": 5, "completion_days": 60},
}


@pytest.fixture
def city_policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(CITY_POLICY), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (2, Deadlines(due_at=ISSUED + timedelta(days=10))),
        (
            3,
            Deadlines(due_at=ISSUED + timedelta(days=20), checkpoint_at=ISSUED + timedelta(days=8)),
        ),
        (
            4,
            Deadlines(
                due_at=ISSUED + timedelta(days=60),
                containment_due_at=ISSUED + timedelta(hours=24),
                plan_due_at=ISSUED + timedelta(days=5),
            ),
        ),
    ],
)
def test_deadlines_from_a_city_policy_file(
    city_policy_file: Path, level: int, expected: Deadlines
) -> None:
    assert deadlines_for(level, ISSUED, FollowupPolicy.load(city_policy_file)) == expected


def test_city_policy_keeps_defaults_it_does_not_name(city_policy_file: Path) -> None:
    policy = FollowupPolicy.load(city_policy_file)
    assert policy.class2.remind_days_before == [5, 2]
    assert policy.class2.escalate_after_overdue_days == 3
    # class3 names no reminders or escalation: the domain defaults stay.
    assert policy.class3.remind_days_before == [7, 1]
    assert policy.class3.escalate_after_overdue_days == 30


@pytest.mark.parametrize(
    "bad",
    [
        {"class2": {"deadline_days": 0}},
        {"class4": {"containment_hours": -1}},
        {"class3": {"checkpoint_day": "soon"}},
    ],
)
def test_invalid_policy_file_is_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a valid policy") as refused:
        FollowupPolicy.load(path)
    assert refused.value.code == "policy_file_invalid"
    assert isinstance(refused.value.__cause__, ValidationError)


def test_a_policy_file_that_is_not_json_or_missing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{class2: 3}", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a valid policy") as refused:
        FollowupPolicy.load(path)
    assert refused.value.code == "policy_file_invalid"
    with pytest.raises(InvalidInput, match="cannot be read") as refused:
        FollowupPolicy.load(tmp_path / "missing.json")
    assert refused.value.code == "policy_file_unreadable"


# The city's checklist, typed here by hand independently of the shipped data:
# code → (default severity, illegal act).
DOMAIN_CATALOGUE: dict[str, tuple[Severity, bool]] = {
    "MGMT-RULES-GAPS": (S1, False),
    "MGMT-NO-RECORDS": (S2, False),
    "MGMT-RESP-NOT-DONE": (S2, False),
    "MGMT-NO-MANAGER": (S2, False),
    "MGMT-USE-UNREGISTERED": (S2, False),
    "MGMT-RESP-UNCLEAR": (S3, False),
    "SIGN-INCOMPLETE": (S1, False),
    "EQ-RUST": (S1, False),
    "EQ-SEAL-AGED": (S2, False),
    "DOOR-NOT-CLOSING": (S2, False),
    "VALVE-BLAST-FAULT": (S2, False),
    "SEAL-PARTS-MISSING": (S2, False),
    "SPARE-PARTS-MISSING": (S2, False),
    "AIRTIGHT-VALVE-FAULT": (S2, False),
    "FILTER-EXPIRED": (S2, False),
    "EQ-DESTROYED": (S3, True),
    "VENT-FAULT": (S2, False),
    "DRAIN-PUMP-FAULT": (S2, False),
    "ELEC-EMERGENCY-LIGHT": (S2, False),
    "HUMIDITY-UNCONTROLLED": (S1, False),
    "CIVIL-DEBRIS": (S1, False),
    "CIVIL-SEEPAGE": (S2, False),
    "STRUCT-WALL-PENETRATION": (S3, True),
    "STRUCT-ALTERATION": (S3, True),
    "STRUCT-CRACK": (S3, False),
    "OCCUPATION": (S3, True),
    "HAZMAT-STORED": (S3, True),
    "EXIT-BLOCKED": (S3, False),
    "SAFETY-ZONE-WORKS": (S3, True),
}


def test_catalogue_has_the_29_items_of_the_domain_table() -> None:
    catalogue = load_catalogue()
    assert catalogue.version == CURRENT_VERSION
    assert len(catalogue.items) == 29
    assert [item.code for item in catalogue.items] == list(DOMAIN_CATALOGUE)


@pytest.mark.parametrize(("code", "expected"), list(DOMAIN_CATALOGUE.items()))
def test_catalogue_item_matches_domain(code: str, expected: tuple[Severity, bool]) -> None:
    item = load_catalogue().get(code)
    assert item is not None
    assert (item.default_severity, item.illegal_act) == expected
    assert item.title.strip() != ""


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("EQ-RUST", "防护设备锈蚀、油漆脱落"),
        ("STRUCT-WALL-PENETRATION", "顶板、底板、临空墙、防护密闭墙穿墙打洞"),
        ("OCCUPATION", "侵占人防工程"),
    ],
)
def test_catalogue_titles_are_the_notice_wording(code: str, title: str) -> None:
    item = load_catalogue().get(code)
    assert item is not None
    assert item.title == title


def test_catalogue_unknown_code_and_version() -> None:
    assert load_catalogue().get("NO-SUCH-ITEM") is None
    with pytest.raises(KeyError):
        load_catalogue("1999.1")


@pytest.mark.parametrize(
    ("in_force", "proposed", "expected"),
    [
        pytest.param([], [], [], id="nothing-either-side"),
        pytest.param([], [("EQ-RUST", S1)], [], id="adds"),
        pytest.param([(1, "EQ-RUST", S1)], [("EQ-RUST", S1)], [], id="restates"),
        pytest.param([(1, "EQ-RUST", S1)], [("EQ-RUST", S2)], [], id="raises"),
        pytest.param(
            [(1, "EQ-RUST", S1)], [("EQ-RUST", S1), ("VENT-FAULT", S2)], [], id="restates-and-adds"
        ),
        pytest.param(
            [(1, "EQ-RUST", S1)], [], [Weakening(1, "EQ-RUST", S1, None)], id="removes-all"
        ),
        pytest.param(
            [(1, "DOOR", S2), (2, "EQ-RUST", S1)],
            [("EQ-RUST", S3)],
            [Weakening(1, "DOOR", S2, None)],
            id="removes-one-raises-another",
        ),
        pytest.param(
            [(1, "DOOR", S3)], [("DOOR", S2)], [Weakening(1, "DOOR", S3, S2)], id="lowers"
        ),
        pytest.param(
            [(1, "DOOR", S2)], [("VENT", S3)], [Weakening(1, "DOOR", S2, None)], id="swaps-item"
        ),
        pytest.param(
            [(1, "EQ-RUST", S1), (2, "EQ-RUST", S2)],
            [("EQ-RUST", S2)],
            [Weakening(1, "EQ-RUST", S1, None)],
            id="one-of-two-alike-removed",
        ),
        pytest.param(
            [(1, "EQ-RUST", S2), (2, "EQ-RUST", S2)],
            [("EQ-RUST", S3), ("EQ-RUST", S1)],
            [Weakening(2, "EQ-RUST", S2, S1)],
            id="heaviest-matched-first",
        ),
    ],
)
def test_weakenings(
    in_force: list[tuple[int, str, Severity]],
    proposed: list[tuple[str, Severity]],
    expected: list[Weakening],
) -> None:
    assert weakenings(in_force, proposed) == expected
