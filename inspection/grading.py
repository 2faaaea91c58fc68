"""Grading rules of the city's policy: severities, the class they imply, and deadlines.

Pure functions, no I/O. A class is 1 + the highest severity among open findings
(S1 → class 2, S2 → class 3, S3 → class 4); no open finding → class 1. Deadlines and
escalation steps come from a :class:`FollowupPolicy` so a city can change them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from inspection.errors import InvalidInput


class Severity(IntEnum):
    """S1 ordinary upkeep; S2 responsibility not carried out / equipment function;
    S3 responsibility unclear, destroyed equipment, structural damage, illegal act."""

    S1 = 1
    S2 = 2
    S3 = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"severity must be S1, S2 or S3, not {text!r}") from None

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class GradedFinding:
    """What grading needs to know of a finding."""

    severity: Severity
    open: bool


def effective_severity(default: Severity, requested: Severity | None) -> Severity:
    """An inspector may raise an item's severity, never lower it."""
    if requested is None:
        return default
    if requested < default:
        raise ValueError(f"severity {requested.label} is below the item's default {default.label}")
    return requested


def finding_is_open_at_grading(severity: Severity, fixed_on_spot: bool) -> bool:
    """An S1 fixed on the spot counts as closed (its photo is attached to the inspection);
    a heavier finding stays open whatever the flag says."""
    return not (severity == Severity.S1 and fixed_on_spot)


def class_for(findings: Iterable[GradedFinding], floor: int | None = None) -> int:
    """1 + the highest severity among open findings, never below an escalation ``floor``."""
    highest = max((int(f.severity) for f in findings if f.open), default=0)
    graded = 1 + highest
    return max(graded, floor) if floor is not None else graded


@dataclass(frozen=True, slots=True)
class Weakening:
    """A finding in force that a correction removes (``after`` None) or lowers."""

    finding_id: int
    item: str
    before: Severity
    after: Severity | None


def weakenings(
    in_force: Iterable[tuple[int, str, Severity]], proposed_open: Iterable[tuple[str, Severity]]
) -> list[Weakening]:
    """What a correction takes away from the findings in force ((id, item, severity)), given
    its own findings left open at grading ((item, severity)): per item, the heaviest finding
    in force is matched with the correction's heaviest, and so on; a finding in force left
    without a match is removed, one matched with a lighter severity is lowered. A correction
    that adds or raises only, or restates, takes nothing away (an empty list)."""
    offered: defaultdict[str, list[Severity]] = defaultdict(list)
    for item, severity in proposed_open:
        offered[item].append(severity)
    held: defaultdict[str, list[tuple[int, Severity]]] = defaultdict(list)
    for finding_id, item, severity in in_force:
        held[item].append((finding_id, severity))
    out: list[Weakening] = []
    for item, findings in held.items():
        mine = sorted(offered[item], reverse=True)
        ordered = sorted(findings, key=lambda pair: (-pair[1], pair[0]))
        for index, (finding_id, before) in enumerate(ordered):
            after = mine[index] if index < len(mine) else None
            if after is None or after < before:
                out.append(Weakening(finding_id, item, before, after))
    return sorted(out, key=lambda w: w.finding_id)


class Class2Policy(BaseModel):
    deadline_days: int = Field(default=15, ge=1)
    remind_days_before: list[int] = Field(default_factory=lambda: [3])
    escalate_after_overdue_days: int = Field(default=7, ge=0)


class Class3Policy(BaseModel):
    deadline_days: int = Field(default=30, ge=1)
    checkpoint_day: int = Field(default=15, ge=1)
    remind_days_before: list[int] = Field(default_factory=lambda: [7, 1])
    escalate_after_overdue_days: int = Field(default=30, ge=0)


class Class4Policy(BaseModel):
    containment_hours: int = Field(default=72, ge=1)
    plan_days: int = Field(default=7, ge=1)
    completion_days: int = Field(default=90, ge=1)


class FineRange(BaseModel):
    """The fines, in whole yuan, that a referral's outcome may record for one party type."""

    min_yuan: int = Field(ge=0)
    max_yuan: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> FineRange:
        if self.min_yuan > self.max_yuan:
            raise ValueError("min_yuan is above max_yuan")
        return self


class FinePolicy(BaseModel):
    """Fines of 人民防空法 art. 49: a unit 10,000–50,000 yuan; an individual where the city's
    rules allow it (5,000–10,000 yuan by default; ``null``: individuals are not fined)."""

    unit: FineRange = Field(default_factory=lambda: FineRange(min_yuan=10_000, max_yuan=50_000))
    individual: FineRange | None = Field(
        default_factory=lambda: FineRange(min_yuan=5_000, max_yuan=10_000)
    )

    def range_for(self, party_type: str) -> FineRange | None:
        """The range a party of ``party_type`` (``unit`` or ``individual``) may be fined in;
        None when it may not be fined."""
        return self.unit if party_type == "unit" else self.individual


class FollowupPolicy(BaseModel):
    """Deadlines and escalation (docs/domain.md, section 6); a city overrides them with a JSON
    file named by ``SHELTERWATCH_POLICY_FILE``."""

    class2: Class2Policy = Field(default_factory=Class2Policy)
    class3: Class3Policy = Field(default_factory=Class3Policy)
    class4: Class4Policy = Field(default_factory=Class4Policy)
    fines: FinePolicy = Field(default_factory=FinePolicy)
    late_entry_days: int = Field(
        default=7,
        ge=0,
        description="an inspection entered more than this many days after the visit needs a reason",
    )

    @classmethod
    def load(cls, path: Path | None) -> FollowupPolicy:
        """The policy of ``path`` (JSON), or the defaults; :class:`InvalidInput` when the file
        cannot be read (``policy_file_unreadable``) or is not a valid policy
        (``policy_file_invalid``)."""
        if path is None:
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"policy file {path} cannot be read: {exc}", code="policy_file_unreadable"
            ) from exc
        try:
            return cls.model_validate(json.loads(text))
        except ValueError as exc:  # bad JSON, and pydantic's ValidationError
            raise InvalidInput(
                f"policy file {path} is not a valid policy: {exc}", code="policy_file_invalid"
            ) from exc


@dataclass(frozen=True, slots=True)
class Deadlines:
    due_at: datetime
    checkpoint_at: datetime | None = None
    containment_due_at: datetime | None = None
    plan_due_at: datetime | None = None


def deadlines_for(class_level: int, issued_at: datetime, policy: FollowupPolicy) -> Deadlines:
    """Deadlines of the follow-up a class sets in motion, counted from ``issued_at``."""
    if class_level == 2:
        return Deadlines(due_at=issued_at + timedelta(days=policy.class2.deadline_days))
    if class_level == 3:
        return Deadlines(
            due_at=issued_at + timedelta(days=policy.class3.deadline_days),
            checkpoint_at=issued_at + timedelta(days=policy.class3.checkpoint_day),
        )
    if class_level == 4:
        return Deadlines(
            due_at=issued_at + timedelta(days=policy.class4.completion_days),
            containment_due_at=issued_at + timedelta(hours=policy.class4.containment_hours),
            plan_due_at=issued_at + timedelta(days=policy.class4.plan_days),
        )
    raise ValueError(f"class {class_level} has no follow-up")
