"""The alert rules: the tiers of the default conditions (docs/monitoring.md) and the overrides
the city office sets per shelter, zone, sensor or class (an override addresses one tier by its
code). Part of the ``alerts`` routes (included by :mod:`api.http.routes.alerts`).

A district officer reads the overrides that apply in their district: those of its shelters
and their sensors, and the city-wide ones by zone and class. An override naming a shelter or
sensor out of their scope is left out, as lists leave out what is out of scope everywhere.

The ingester re-reads the overrides about once a minute, so a change applies to readings that
arrive after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)
from sqlalchemy.orm import Session

from api.http.deps import AdminDep, NowDep, SessionDep, require
from api.http.errors import DocumentedRoute
from inspection import audit, registry
from inspection.access import Actor
from inspection.errors import InvalidInput
from inspection.models import Role
from inspection.schemas import check_text
from telemetry import condition_store
from telemetry.alert_rules import (
    DEFAULT_RULES,
    OFFLINE_FACTOR,
    OFFLINE_RULE,
    SCOPE_PRECEDENCE,
    TIERS,
    AlertRule,
    Op,
    Override,
    Scope,
    Severity,
)

router = APIRouter(prefix="/api/v1/alert-rules", tags=["alerts"], route_class=DocumentedRoute)
RuleReader = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER))]
MAX_OVERRIDES = 5000
_DEFAULTS = {r.code: r for r in DEFAULT_RULES}
_RANK = {scope: i for i, scope in enumerate(SCOPE_PRECEDENCE)}


class RuleOut(BaseModel):
    code: str
    condition: str = Field(description="the condition this is a tier of, e.g. humidity")
    title: str
    metric: str
    op: str
    enter: float
    clear: float
    sustain_s: int
    severity: str
    notice_interval_s: int
    enabled: bool


class OverrideIn(BaseModel):
    """One override; a field left out (or null) keeps the value of the broader scope."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rule: str = Field(description="a tier's code, e.g. humidity_warning")
    scope: Scope
    scope_value: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        AfterValidator(check_text),
    ] = Field(description="shelter code, zone name, sensor id, or class 1–4")
    enter: StrictFloat | None = None
    clear: StrictFloat | None = None
    sustain_s: StrictInt | None = Field(default=None, ge=0, le=30 * 86400)
    severity: Severity | None = None
    enabled: StrictBool | None = None


class OverrideOut(BaseModel):
    rule: str
    scope: Scope
    scope_value: str
    enter: float | None
    clear: float | None
    sustain_s: int | None
    severity: Severity | None
    enabled: bool | None


class OfflineRuleOut(BaseModel):
    rule: str = OFFLINE_RULE
    factor: int = OFFLINE_FACTOR
    description: str = "传感器超过3个上报周期无数据（设备健康，非环境告警）"


class RulesResponse(BaseModel):
    defaults: list[RuleOut]
    overrides: list[OverrideOut]
    offline: OfflineRuleOut


def _consistent(rule: AlertRule, enter: float, clear: float) -> bool:
    """Hysteresis on the right side: a rule entering upwards clears at or below ``enter``."""
    return clear <= enter if rule.op in (Op.GE, Op.GT) else clear >= enter


def _threshold_problems(
    rule: AlertRule, items: list[tuple[int, OverrideIn]]
) -> list[tuple[int, str]]:
    """Every (enter, clear) pair some sensor could end up with: an override with both, one
    with either beside the default, and pairs of overrides at different scopes where one sets
    the enter and the other the clear threshold that wins."""
    found: list[tuple[int, str]] = []

    def check(index: int, enter: float, clear: float, what: str) -> None:
        if not _consistent(rule, enter, clear):
            side = "above" if rule.op in (Op.GE, Op.GT) else "below"
            found.append((index, f"{what}: clear {clear:g} is {side} enter {enter:g}"))

    for i, o in items:
        if o.enter is not None and o.clear is not None:
            check(i, o.enter, o.clear, "its own thresholds")
        elif o.enter is not None:
            check(i, o.enter, rule.clear, "with the default clear")
        elif o.clear is not None:
            check(i, rule.enter, o.clear, "with the default enter")
    for i, a in items:
        for j, b in items:
            if i == j or a.scope == b.scope or a.enter is None or b.clear is None:
                continue
            a_only, b_only = a.clear is None, b.enter is None
            # a gives the enter and b the clear threshold: possible when neither also sets the
            # other threshold from a more specific scope.
            if (a_only and b_only) or (
                a_only != b_only
                and (_RANK[a.scope] > _RANK[b.scope] if a_only else _RANK[b.scope] > _RANK[a.scope])
            ):
                check(i, a.enter, b.clear, f"with the clear of override {j}")
    return found


def validate(overrides: Sequence[OverrideIn]) -> list[Override]:
    """The overrides as stored, or :class:`InvalidInput` listing every problem by index:
    unknown rule codes, a class outside 1–4, a repeated (rule, scope, value), and thresholds
    whose clear side contradicts the rule's direction."""
    problems: list[dict[str, object]] = []
    seen: dict[tuple[str, Scope, str], int] = {}
    per_rule: dict[str, list[tuple[int, OverrideIn]]] = {}
    for i, o in enumerate(overrides):
        if o.rule not in _DEFAULTS:
            problems.append({"index": i, "rule": o.rule, "error": "unknown rule code"})
            continue
        if o.scope is Scope.CLASS and o.scope_value not in ("1", "2", "3", "4"):
            problems.append({"index": i, "rule": o.rule, "error": "class scope value is 1–4"})
            continue
        key = (o.rule, o.scope, o.scope_value)
        if key in seen:
            problems.append({"index": i, "rule": o.rule, "error": f"repeats override {seen[key]}"})
            continue
        seen[key] = i
        per_rule.setdefault(o.rule, []).append((i, o))
    for code, items in per_rule.items():
        problems.extend(
            {"index": i, "rule": code, "error": message}
            for i, message in _threshold_problems(_DEFAULTS[code], items)
        )
    if problems:
        raise InvalidInput(
            "some overrides are not valid", code="invalid_overrides", details=problems
        )
    return [Override(**o.model_dump()) for o in overrides]


def _override_out(o: Override) -> OverrideOut:
    return OverrideOut.model_validate(o, from_attributes=True)


def _rules(overrides: list[Override]) -> RulesResponse:
    return RulesResponse(
        defaults=[
            RuleOut(
                code=r.code,
                condition=TIERS[r.code][0],
                title=r.title,
                metric=r.metric,
                op=r.op.value,
                enter=r.enter,
                clear=r.clear,
                sustain_s=r.sustain_s,
                severity=r.severity.value,
                notice_interval_s=r.notice_interval_s,
                enabled=r.enabled,
            )
            for r in DEFAULT_RULES
        ],
        overrides=[_override_out(o) for o in overrides],
        offline=OfflineRuleOut(),
    )


def _in_scope(session: Session, overrides: list[Override], actor: Actor) -> list[Override]:
    """The overrides ``actor`` may read: every one for the city office; for others those by
    zone and class, and those naming a shelter or sensor within their scope."""
    if actor.is_admin:
        return overrides
    named = {scope: {o.scope_value for o in overrides if o.scope is scope} for scope in Scope}
    visible = {
        Scope.SHELTER: registry.visible_codes(session, named[Scope.SHELTER], actor=actor),
        Scope.SENSOR: registry.visible_sensor_ids(session, named[Scope.SENSOR], actor=actor),
    }
    return [o for o in overrides if o.scope not in visible or o.scope_value in visible[o.scope]]


@router.get("", response_model=RulesResponse)
def get_rules(session: SessionDep, actor: RuleReader) -> RulesResponse:
    """The default rules and the overrides the caller may read: all of them for the city
    office; for a district officer those of their district's shelters and sensors and the
    city-wide ones by zone and class."""
    return _rules(_in_scope(session, condition_store.load_overrides(session), actor))


@router.put("", response_model=RulesResponse)
def put_rules(
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
    overrides: Annotated[list[OverrideIn], Body(max_length=MAX_OVERRIDES)],
) -> RulesResponse:
    """Replace every override with this list (city office); audit-logged with before and
    after."""
    valid = validate(overrides)
    before = condition_store.load_overrides(session)
    condition_store.replace_overrides(session, valid, by=actor.username, at=now)
    after = condition_store.load_overrides(session)
    audit.record(
        session,
        actor,
        "alert_rules.replace",
        "alert_rules",
        "overrides",
        at=now,
        before={"overrides": [_override_out(o).model_dump(mode="json") for o in before]},
        after={"overrides": [_override_out(o).model_dump(mode="json") for o in after]},
    )
    return _rules(after)
