"""Re-inspection (复查): a later visit's verdict on the findings earlier visits left open.

An inspection may carry, for open findings of its shelter, a verdict (``verdicts`` of
:class:`~inspection.schemas.InspectionCreate`):

- ``fixed`` (已整改): the finding is closed as verified by the visit; the visiting inspector is
  the verifier, so they must not be who reported its fix (``same_person``), as in
  :func:`inspection.fixes.verify`;
- ``open`` (仍未整改): the finding stays open under its follow-up and deadline, and no second
  finding is recorded; a reported fix is sent back as not done (:func:`inspection.fixes.reopen`);
- ``worse`` (加重): the finding is closed as replaced and the inspection records a finding of the
  same item at a heavier severity in its place, which the inspection's follow-up covers.

Findings not named keep their state (a partial visit). A new finding for an item that already
has a finding in force on the shelter is refused (``finding_already_open``): the verdict is how
a visit records it again. Each verdict is kept in ``finding_verdicts`` and audited; the class
and the follow-ups then follow as for any inspection (:func:`inspection.effect.take_effect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, fixes, followups
from inspection.access import Actor
from inspection.effect import FindingSpec
from inspection.errors import Forbidden, InvalidInput
from inspection.grading import GradedFinding, Severity
from inspection.models import (
    Finding,
    FindingStatus,
    FindingVerdict,
    Inspection,
    Shelter,
    Verdict,
)
from inspection.schemas import VerdictIn, VerdictRead


@dataclass(frozen=True, slots=True)
class Judged:
    """A checked verdict: the finding it judges and its severity after the visit (``worse``:
    the heavier one)."""

    finding: Finding
    verdict: Verdict
    note: str
    severity: Severity


def _in_force(session: Session, shelter: Shelter) -> list[Finding]:
    """The shelter's findings not closed (open, or with a fix reported), drafts left out."""
    return list(
        session.scalars(
            select(Finding)
            .where(
                Finding.shelter_id == shelter.id,
                Finding.status != FindingStatus.CLOSED.value,
                Finding.draft.is_(False),
            )
            .order_by(Finding.id)
        )
    )


def review(
    session: Session,
    shelter: Shelter,
    verdicts: Sequence[VerdictIn],
    specs: Sequence[FindingSpec],
    *,
    actor: Actor,
    corrected: Inspection | None,
) -> list[Judged]:
    """Check a submission's verdicts and new findings against the shelter's findings in force.

    Raises :class:`InvalidInput` ``invalid_verdicts`` (each bad verdict by its index: a finding
    not in force on this shelter, judged twice, or ``worse`` without a heavier severity),
    ``verdicts_not_allowed`` (a correction restates a visit; it judges nothing),
    ``finding_already_open`` (a new finding for an item in force; the details name the finding
    in force), and :class:`Forbidden` ``same_person`` (``fixed`` on a fix the actor reported).
    A correction's own new findings are checked against what is in force outside the
    inspection it corrects, whose findings it supersedes."""
    if verdicts and corrected is not None:
        raise InvalidInput(
            "a correction restates a visit and gives no verdicts", code="verdicts_not_allowed"
        )
    held = [
        f
        for f in _in_force(session, shelter)
        if corrected is None or f.inspection_id != corrected.id
    ]
    by_id = {f.id: f for f in held}
    judged: list[Judged] = []
    problems: list[dict[str, object]] = []
    seen: set[int] = set()
    for index, verdict in enumerate(verdicts):
        finding = by_id.get(verdict.finding)
        if finding is None:
            problems.append(
                {
                    "index": index,
                    "finding": verdict.finding,
                    "error": "no open finding of this shelter",
                }
            )
            continue
        if finding.id in seen:
            problems.append({"index": index, "finding": finding.id, "error": "judged twice"})
            continue
        seen.add(finding.id)
        current = Severity(finding.severity)
        severity = current
        if verdict.verdict == Verdict.WORSE:
            requested = Severity.parse(verdict.severity) if verdict.severity else None
            if requested is None and current < Severity.S3:
                requested = Severity(current + 1)
            if requested is None or requested <= current:
                problems.append(
                    {
                        "index": index,
                        "finding": finding.id,
                        "error": f"worse needs a severity above {current.label}",
                    }
                )
                continue
            severity = requested
        elif verdict.severity is not None:
            problems.append(
                {"index": index, "finding": finding.id, "error": "a severity goes with worse only"}
            )
            continue
        judged.append(Judged(finding, verdict.verdict, verdict.note, severity))
    if problems:
        raise InvalidInput("some verdicts are not valid", code="invalid_verdicts", details=problems)
    open_items = {f.item_code: f for f in reversed(held)}
    duplicates = [
        {"index": index, "item": spec.item_code, "open_finding": open_items[spec.item_code].id}
        for index, spec in enumerate(specs)
        if spec.item_code in open_items
    ]
    if duplicates:
        named = ", ".join(f"{d['item']} (finding {d['open_finding']})" for d in duplicates)
        raise InvalidInput(
            f"already open on this shelter: {named}; give it a verdict instead",
            code="finding_already_open",
            details=duplicates,
        )
    for j in judged:
        if j.verdict == Verdict.FIXED and j.finding.fix_reported_by == actor.id:
            raise Forbidden(
                f"finding {j.finding.id}: the verifier must be someone other than who "
                "reported the fix",
                code="same_person",
            )
    return judged


def graded(judged: Sequence[Judged]) -> list[GradedFinding]:
    """What the visit saw still open among the earlier findings, for the inspection's class."""
    return [GradedFinding(j.severity, True) for j in judged if j.verdict != Verdict.FIXED]


def replacements(judged: Sequence[Judged]) -> list[FindingSpec]:
    """The heavier findings the inspection records in place of those judged ``worse``."""
    return [
        FindingSpec(
            j.finding.item_code,
            j.severity,
            j.finding.illegal_act,
            j.note or j.finding.note,
            True,
        )
        for j in judged
        if j.verdict == Verdict.WORSE
    ]


def confirmed_items(judged: Sequence[Judged]) -> set[str]:
    """Items the visit found still there (``open`` or ``worse``): a monitoring draft of one is
    confirmed, not dismissed."""
    return {j.finding.item_code for j in judged if j.verdict != Verdict.FIXED}


def apply(
    session: Session,
    inspection: Inspection,
    shelter: Shelter,
    judged: Sequence[Judged],
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Carry out the verdicts before the inspection takes effect: close what is fixed
    (verified by the visit) or worse (replaced), send back a reported fix found not done,
    and close the follow-ups left with nothing open."""
    for j in judged:
        finding = j.finding
        if j.verdict == Verdict.FIXED:
            fixes.close_verified(
                session,
                finding,
                shelter,
                j.note or f"复查确认已整改（检查 {inspection.id}）",
                actor=actor,
                now=now,
                by_inspection=inspection.id,
            )
        elif j.verdict == Verdict.OPEN:
            if finding.status == FindingStatus.FIX_REPORTED:
                fixes.reopen(
                    session,
                    finding,
                    shelter,
                    j.note or f"复查确认仍未整改（检查 {inspection.id}）",
                    actor=actor,
                    now=now,
                    by_inspection=inspection.id,
                )
            else:
                audit.record(
                    session,
                    actor,
                    "finding.confirmed_open",
                    "finding",
                    finding.id,
                    at=now,
                    after={"status": finding.status, "by_inspection": inspection.id},
                )
        else:
            finding.status = FindingStatus.CLOSED.value
            finding.closed_at = now
            finding.verify_note = f"复查加重，由检查 {inspection.id} 的问题取代"
    session.flush()
    followups.close_settled(session, shelter, actor=actor, now=now)


def record(
    session: Session,
    inspection: Inspection,
    judged: Sequence[Judged],
    recorded: Sequence[Finding],
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Keep each verdict with the inspection; ``recorded`` are the inspection's findings in
    the order of its specs, the replacements of :func:`replacements` last."""
    worse = [j for j in judged if j.verdict == Verdict.WORSE]
    placed = list(recorded[len(recorded) - len(worse) :]) if worse else []
    replaced = {j.finding.id: f for j, f in zip(worse, placed, strict=True)}
    for j in judged:
        replacement = replaced.get(j.finding.id)
        session.add(
            FindingVerdict(
                inspection_id=inspection.id,
                finding_id=j.finding.id,
                verdict=j.verdict.value,
                note=j.note,
                replacement_id=replacement.id if replacement else None,
            )
        )
        if replacement is not None:
            audit.record(
                session,
                actor,
                "finding.worsened",
                "finding",
                j.finding.id,
                at=now,
                before={"severity": j.finding.severity},
                after={
                    "status": j.finding.status,
                    "by_inspection": inspection.id,
                    "replacement": replacement.id,
                    "severity": replacement.severity,
                },
            )
    session.flush()


def reads(session: Session, inspection_id: int) -> list[VerdictRead]:
    """The verdicts an inspection gave, in the order of the findings judged."""
    rows = session.execute(
        select(FindingVerdict, Finding.item_code)
        .join(Finding, Finding.id == FindingVerdict.finding_id)
        .where(FindingVerdict.inspection_id == inspection_id)
        .order_by(FindingVerdict.finding_id)
    ).all()
    return [
        VerdictRead(
            finding_id=v.finding_id,
            item=item,
            verdict=Verdict(v.verdict),
            note=v.note,
            replacement_id=v.replacement_id,
        )
        for v, item in rows
    ]


def judged_findings(session: Session, inspection: Inspection) -> set[int]:
    """Ids of the earlier findings ``inspection`` gave a verdict on (its photos may show them)."""
    return set(
        session.scalars(
            select(FindingVerdict.finding_id).where(FindingVerdict.inspection_id == inspection.id)
        )
    )
