"""The outcome of an enforcement referral (移交执法): what law enforcement decided under
人民防空法 art. 49, kept as records that are only ever appended.

An officer (``admin`` or ``district_officer``) records the outcome; ``referred`` (still with
enforcement) keeps the referral open and a later outcome may follow; any other outcome closes
it, and from then on the outcome is never overwritten: a mistake is put right by a correction,
a new record with its reason. The latest record is the outcome in force (``Followup.outcome``,
written with each record, is what the figures of ``inspection.stats`` count). Each record is
audited (``referral.outcome``, ``referral.outcome_corrected``).

A fine must lie in the city's range for the party type (``FollowupPolicy.fines``).

Refusals: ``NotFound`` ``followup_not_found``; ``Forbidden`` ``role_forbidden``; ``Conflict``
``not_a_referral``, ``outcome_recorded`` (the referral is closed with an outcome: correct it),
``no_outcome`` (nothing to correct yet); ``InvalidInput`` ``fine_required`` (``fined`` without
``fine_yuan``), ``fine_out_of_range`` (details: the party type and its range, null when that
party may not be fined).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import Actor
from inspection.errors import Conflict, Forbidden, InvalidInput
from inspection.followups import get_followup
from inspection.grading import FinePolicy
from inspection.models import (
    Followup,
    FollowupKind,
    FollowupStatus,
    OutcomeRecord,
    Role,
)
from inspection.schemas import OutcomeCorrection, ReferralOutcome

OFFICER_ROLES = (Role.ADMIN, Role.DISTRICT_OFFICER)
STILL_REFERRED = "referred"


def check_fine(outcome: ReferralOutcome, fines: FinePolicy) -> None:
    """Refuse a fine missing from a ``fined`` outcome or outside the party type's range."""
    if outcome.status == "fined" and outcome.fine_yuan is None:
        raise InvalidInput("a fined outcome needs fine_yuan", code="fine_required")
    if outcome.fine_yuan is None:
        return
    allowed = fines.range_for(outcome.party_type.value)
    if allowed is None or not allowed.min_yuan <= outcome.fine_yuan <= allowed.max_yuan:
        what = (
            f"{allowed.min_yuan}–{allowed.max_yuan} yuan"
            if allowed is not None
            else "no fine: the city's rules do not fine this party type"
        )
        raise InvalidInput(
            f"a fine of {outcome.fine_yuan} yuan is outside the range for a "
            f"{outcome.party_type.value} ({what})",
            code="fine_out_of_range",
            details={
                "party_type": outcome.party_type.value,
                "min_yuan": allowed.min_yuan if allowed else None,
                "max_yuan": allowed.max_yuan if allowed else None,
            },
        )


def _referral(session: Session, followup_id: int, actor: Actor) -> Followup:
    session.execute(select(Followup.id).where(Followup.id == followup_id).with_for_update())
    followup, _shelter = get_followup(session, followup_id, actor=actor)
    if actor.role not in OFFICER_ROLES:
        raise Forbidden("only officers record a referral's outcome", code="role_forbidden")
    if followup.kind != FollowupKind.REFERRAL:
        raise Conflict(f"{followup.number} is not a referral", code="not_a_referral")
    return followup


def _append(
    session: Session,
    followup: Followup,
    outcome: ReferralOutcome,
    *,
    kind: str,
    reason: str,
    action: str,
    actor: Actor,
    now: datetime,
) -> Followup:
    before = audit.snapshot(followup)
    row = OutcomeRecord(
        followup_id=followup.id,
        kind=kind,
        status=outcome.status,
        party_type=outcome.party_type.value,
        fine_yuan=outcome.fine_yuan,
        note=outcome.note,
        reason=reason,
        recorded_by=actor.id or None,
        recorded_at=now,
    )
    session.add(row)
    in_force: dict[str, Any] = {
        "status": outcome.status,
        "party_type": outcome.party_type.value,
        "fine_yuan": outcome.fine_yuan,
        "note": outcome.note,
        "recorded_by": actor.username,
        "recorded_at": now.isoformat(),
    }
    if reason:
        in_force["reason"] = reason
    followup.outcome = in_force
    if outcome.status == STILL_REFERRED:
        followup.status = FollowupStatus.OPEN.value
        followup.closed_at = None
    elif followup.status != FollowupStatus.CLOSED:
        followup.status = FollowupStatus.CLOSED.value
        followup.closed_at = now
    session.flush()
    audit.record(
        session,
        actor,
        action,
        "followup",
        followup.number,
        at=now,
        before=before,
        after={**audit.snapshot(followup), "record": row.id},
    )
    return followup


def record_outcome(
    session: Session,
    followup_id: int,
    outcome: ReferralOutcome,
    *,
    actor: Actor,
    now: datetime,
    fines: FinePolicy,
) -> Followup:
    """Record what law enforcement decided (warning, fine, dismissed, …); refused once the
    referral is closed with an outcome."""
    followup = _referral(session, followup_id, actor)
    if followup.status == FollowupStatus.CLOSED:
        raise Conflict(
            f"{followup.number} has its outcome recorded; correct it with a reason",
            code="outcome_recorded",
        )
    check_fine(outcome, fines)
    return _append(
        session,
        followup,
        outcome,
        kind="outcome",
        reason="",
        action="referral.outcome",
        actor=actor,
        now=now,
    )


def correct_outcome(
    session: Session,
    followup_id: int,
    correction: OutcomeCorrection,
    *,
    actor: Actor,
    now: datetime,
    fines: FinePolicy,
) -> Followup:
    """Append a corrected outcome with its reason; it is in force from now, and the records
    before it are kept."""
    followup = _referral(session, followup_id, actor)
    if followup.outcome is None:
        raise Conflict(f"{followup.number} has no outcome to correct", code="no_outcome")
    check_fine(correction, fines)
    return _append(
        session,
        followup,
        correction,
        kind="correction",
        reason=correction.reason,
        action="referral.outcome_corrected",
        actor=actor,
        now=now,
    )
