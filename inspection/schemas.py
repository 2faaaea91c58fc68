"""Validated input and output shapes of the inspection package (``Create``/``Update``/``Read``).

Inputs forbid unknown fields so a misspelt field is an error, not silently dropped. Their
text refuses control characters (tab and line breaks aside; a one-line :data:`Name` refuses
those too), which spreadsheets and logs cannot show safely; their booleans and numbers are
strict (``false`` is no longitude, ``"yes"`` no boolean), and ids stay within the database's
64-bit integers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    computed_field,
    field_validator,
)

from inspection.models import (
    CorrectionStatus,
    FindingStatus,
    FollowupKind,
    FollowupStatus,
    PartyType,
    Role,
    UnitStatus,
    Verdict,
)
from inspection.redact import mask_channels

CODE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_DB_INT = 2**63 - 1
MAX_ROW_ID = 2**31 - 1
"""The largest row id: ids are INTEGER columns, 32 bits on PostgreSQL (a larger one in a query
is an error there, not an empty result)."""
MIN_PASSWORD_LENGTH = 10

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("[\t\n\r\u2028\u2029]")


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError when it holds a control character other than tab
    and line breaks (or a lone surrogate or non-character)."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start()} "
            "is not allowed"
        )
    return value


def _single_line(value: str) -> str:
    if _LINE_BREAK.search(value):
        raise ValueError("tabs and line breaks are not allowed here")
    return check_text(value)


def _check_nested(value: object) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_nested(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_nested(key)
            _check_nested(item)


Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_single_line),
]
Text = Annotated[str, StringConstraints(max_length=4000)]
Password = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=MIN_PASSWORD_LENGTH, max_length=256),
]
"""A new password, kept exactly as typed (its strength is judged by ``users.check_password``)."""
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
"""A row id as it may come in a path, a query or a body: larger ids cannot exist."""


def aware_utc(value: datetime) -> datetime:
    """A client's time with its offset, in UTC; :class:`ValueError` saying why when it has
    no offset or lies outside the calendar in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must carry an offset (RFC 3339), e.g. 2026-05-01T09:30:00+08:00")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 moved past the calendar by its offset
        raise ValueError("time is outside the years 1 to 9999 in UTC") from exc


AwareDatetime = Annotated[datetime, AfterValidator(aware_utc)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _check_nested(value)
        return value


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserCreate(_Input):
    username: Code
    display_name: str = Field(
        default="",
        max_length=128,
        description="the person's real name, printed on notices and signs (empty: none given)",
    )
    phone: str | None = Field(default=None, max_length=32)
    email: EmailStr | None = None
    role: Role
    district: str | None = Field(default=None, max_length=64)
    password: Password | None = None
    channels: dict[str, Any] = Field(default_factory=dict)
    shelter: Code | None = Field(
        default=None,
        description="a manager account for this shelter's 工程长: the account becomes the "
        "shelter's manager, and an empty `display_name` or `phone` is taken from the "
        "shelter's contact fields",
    )


class UserRead(_Output):
    id: int
    username: str
    display_name: str
    phone: str | None
    email: str | None
    role: Role
    district: str | None
    active: bool
    created_at: datetime
    channels: dict[str, Any] = Field(
        default_factory=dict,
        description="the channel profile; secrets (webhook and DingTalk `secret`, WeCom "
        "`key=`, DingTalk `access_token=`) show as `***` once set",
    )

    @field_validator("channels", mode="before")
    @classmethod
    def _masked(cls, value: Any) -> Any:
        return mask_channels(value) if isinstance(value, dict) else {}


class UserCreated(UserRead):
    api_key: str | None = Field(default=None, description="Shown once, for platform accounts.")


ContactName = Annotated[str, StringConstraints(max_length=128), AfterValidator(_single_line)]
"""A person's name on the register (one line; empty: none)."""
Phone = Annotated[str, StringConstraints(max_length=32), AfterValidator(_single_line)]
"""A phone number as the register writes it (one line; empty: none)."""


class _ShelterFields(_Input):
    address: str = Field(default="", max_length=300)
    latitude: StrictFloat | None = Field(default=None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(default=None, ge=-180, le=180)
    shelter_type: str = Field(default="", max_length=64)
    wartime_function: str = Field(default="", max_length=64)
    protection_level: str = Field(default="", max_length=32)
    area_m2: StrictFloat | None = Field(default=None, gt=0)
    peacetime_use: str = Field(default="", max_length=128)
    use_registered: StrictBool = False
    responsible_unit: str = Field(default="", max_length=200)
    responsible_unit_status: UnitStatus = UnitStatus.KNOWN
    responsible_unit_contact: ContactName = Field(
        default="", description="the responsible unit's contact person"
    )
    responsible_unit_phone: Phone = Field(default="", description="the contact person's phone")
    manager: str | None = Field(
        default=None, description="username of the 工程长's account, once they have one"
    )
    manager_contact_name: ContactName = Field(
        default="", description="the 工程长's name, for a 工程长 with or without an account"
    )
    manager_contact_phone: Phone = Field(default="", description="the 工程长's phone")
    inspector: str | None = Field(default=None, description="username of the assigned inspector")
    signage_installed: StrictBool = False
    active: StrictBool = True


class ShelterCreate(_ShelterFields):
    code: Code
    name: Name
    district: Name


class ShelterUpdate(_Input):
    name: Name | None = None
    district: Name | None = None
    address: str | None = Field(default=None, max_length=300)
    latitude: StrictFloat | None = Field(default=None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(default=None, ge=-180, le=180)
    shelter_type: str | None = Field(default=None, max_length=64)
    wartime_function: str | None = Field(default=None, max_length=64)
    protection_level: str | None = Field(default=None, max_length=32)
    area_m2: StrictFloat | None = Field(default=None, gt=0)
    peacetime_use: str | None = Field(default=None, max_length=128)
    use_registered: StrictBool | None = None
    responsible_unit: str | None = Field(default=None, max_length=200)
    responsible_unit_status: UnitStatus | None = None
    responsible_unit_contact: ContactName | None = None
    responsible_unit_phone: Phone | None = None
    manager: str | None = Field(
        default=None, description="username of the 工程长's account; null or empty unlinks it"
    )
    manager_contact_name: ContactName | None = None
    manager_contact_phone: Phone | None = None
    inspector: str | None = None
    signage_installed: StrictBool | None = None
    active: StrictBool | None = None


class SensorCreate(_Input):
    sensor_id: Code
    zone: str = Field(default="", max_length=64)
    expected_interval_s: StrictInt = Field(default=600, ge=1, le=7 * 86400)


class SensorUpdate(_Input):
    shelter: Code | None = Field(default=None, description="code of the shelter it moves to")
    zone: str | None = Field(default=None, max_length=64)
    expected_interval_s: int | None = Field(default=None, ge=1, le=7 * 86400)
    active: bool | None = Field(default=None, description="false retires the sensor")


class SensorRead(_Output):
    sensor_id: str
    zone: str
    expected_interval_s: int
    active: bool
    created_at: datetime


class FindingIn(_Input):
    item: str = Field(description="catalogue code, e.g. EQ-RUST")
    severity: str | None = Field(default=None, pattern=r"^S[123]$")
    note: Text = ""
    fixed_on_spot: StrictBool = False


class VerdictIn(_Input):
    """A re-inspection's verdict on a finding of the shelter left open by an earlier visit."""

    finding: Annotated[StrictInt, Ge(1), Le(MAX_ROW_ID)] = Field(
        description="id of an open finding of the shelter"
    )
    verdict: Verdict = Field(
        description="fixed (已整改: closed, verified by this visit), open (仍未整改: kept open) "
        "or worse (加重: replaced by a heavier finding of the same item)"
    )
    severity: str | None = Field(
        default=None,
        pattern=r"^S[23]$",
        description="with worse: the heavier severity (default: one step above the finding's)",
    )
    note: Text = ""


class InspectionCreate(_Input):
    inspected_at: AwareDatetime = Field(
        description="the visit; the notice is dated then and its deadlines count from then; "
        "not before the records begin (SHELTERWATCH_RECORDS_START) nor more than 5 minutes ahead"
    )
    findings: list[FindingIn] = Field(default_factory=list, max_length=200)
    note: Text = ""
    late_reason: Text = Field(
        default="",
        description="why the inspection is entered long after the visit; required when "
        "inspected_at is more than the policy's late_entry_days (7) ago",
    )
    tracker: str | None = Field(
        default=None, description="username who tracks a class 3 ledger entry (default: you)"
    )
    corrects: Annotated[StrictInt, Ge(1), Le(MAX_ROW_ID)] | None = Field(
        default=None, description="id of an inspection this corrects"
    )
    correction_reason: Text = Field(
        default="",
        description="why a correction removes or lowers findings in force (required then; "
        "such a correction waits for an officer's approval)",
    )
    verdicts: list[VerdictIn] = Field(
        default_factory=list,
        max_length=200,
        description="a re-inspection (复查): a verdict on open findings of earlier visits; "
        "findings not named keep their state",
    )


class Verification(_Input):
    note: Text = ""


ATTACHMENT_PATH = "/api/v1/attachments/{id}"
"""Where the API serves an attachment's file (``/thumbnail`` appended: its thumbnail)."""
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


class AttachmentRead(_Output):
    id: int
    filename: str = Field(description="the client's file name, sanitised; for display only")
    content_type: str
    size: int = Field(description="bytes of the file as stored (images are re-encoded)")
    sha256: str = Field(description="SHA-256 of the file as uploaded (a re-sent file is known)")
    width: int | None = None
    height: int | None = None
    purpose: str
    finding_id: int | None
    uploaded_at: datetime

    @computed_field(description="the file, for those who may see the shelter")  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return ATTACHMENT_PATH.format(id=self.id)

    @computed_field(description="a JPEG of at most 320 px a side; null for a PDF")  # type: ignore[prop-decorator]
    @property
    def thumbnail_url(self) -> str | None:
        if self.content_type not in _IMAGE_TYPES:
            return None
        return ATTACHMENT_PATH.format(id=self.id) + "/thumbnail"


class FindingRead(_Output):
    id: int
    inspection_id: int | None
    item: str
    title: str
    severity: str
    illegal_act: bool
    note: str
    fixed_on_spot: bool
    status: FindingStatus
    draft: bool
    created_at: datetime
    fix_reported_at: datetime | None
    fix_note: str
    verified_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None = None
    overdue: bool = False
    attachments: list[AttachmentRead] = Field(
        default_factory=list,
        description="photos of the finding at inspection and the evidence of its fixes",
    )


class MilestoneRead(_Output):
    """One milestone of key supervision. ``containment`` and ``plan`` are done when recorded
    (``done_at`` as reported, who recorded it and when, the note and evidence);
    ``completion`` is done when the follow-up closes (``done_at`` its closing time)."""

    milestone: str
    due_at: datetime
    done_at: datetime | None
    overdue: bool = Field(description="not done, the follow-up open and the deadline passed")
    note: str = ""
    recorded_by: str | None = Field(default=None, description="username of who recorded it")
    recorded_by_name: str | None = Field(
        default=None, description="their real name (display name), else their username"
    )
    recorded_at: datetime | None = None
    evidence: list[AttachmentRead] = Field(default_factory=list)


class OutcomeRecordRead(_Output):
    """One record of a referral's outcome: ``outcome`` (as first recorded, or recorded while
    the referral was still with enforcement) or ``correction`` (with its ``reason``)."""

    id: int
    kind: str
    status: str
    party_type: PartyType | None = Field(description="null on records made before it was asked")
    fine_yuan: int | None
    note: str
    reason: str
    recorded_by: str | None = Field(description="username of who recorded it")
    recorded_by_name: str | None = Field(
        default=None, description="their real name (display name), else their username"
    )
    recorded_at: datetime


class ManufacturerCreate(_Input):
    name: Name
    products: Text = Field(default="", description="what it makes, e.g. 防护密闭门、密闭阀门")
    region: Region = ""
    contact_name: ContactName = ""
    contact_phone: Phone = ""


Region = Annotated[str, StringConstraints(max_length=64), AfterValidator(_single_line)]


class ManufacturerUpdate(_Input):
    """The fields of a directory entry to change; those left out stay as they are (none may
    be null: ``422 null_field``)."""

    name: Name | None = None
    products: Text | None = None
    region: Region | None = None
    contact_name: ContactName | None = None
    contact_phone: Phone | None = None


class ManufacturerRead(_Output):
    id: int
    name: str
    products: str
    region: str
    contact_name: str
    contact_phone: str


class ManufacturerChoice(_Input):
    manufacturer_id: RowId | None = Field(description="null: the entry names no manufacturer")


class ManufacturerContactCreate(_Input):
    contacted_at: AwareDatetime = Field(description="when the manufacturer was contacted")
    outcome: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        description="what came of it"
    )


class ManufacturerContactRead(_Output):
    id: int
    manufacturer: str = Field(description="the manufacturer's name")
    contacted_at: datetime
    outcome: str
    recorded_by: str | None = Field(description="username of who made the contact")
    recorded_by_name: str | None = Field(description="their real name, else their username")
    recorded_at: datetime


class FollowupRead(_Output):
    id: int
    number: str
    kind: FollowupKind
    shelter_code: str
    shelter_name: str
    district: str
    class_level: int
    status: FollowupStatus
    issued_at: datetime
    due_at: datetime
    checkpoint_at: datetime | None
    containment_due_at: datetime | None
    plan_due_at: datetime | None
    tracker: str | None = Field(description="username of the named tracker (class 3)")
    tracker_name: str | None = Field(
        default=None, description="the tracker's real name (display name), else their username"
    )
    escalated_class: int | None
    closed_at: datetime | None
    overdue: bool
    finding_ids: list[int]
    outcome: dict[str, Any] | None = Field(
        description="a referral's outcome in force: the latest record of ``outcome_history``; "
        "``recorded_by`` is the recorder's username, ``recorded_by_name`` their real name "
        "(display name), else their username"
    )
    milestones: list[MilestoneRead] = Field(
        default_factory=list,
        description="key supervision: containment, plan and completion, each with its deadline "
        "and, once done, its record; empty for other kinds",
    )
    manufacturer: ManufacturerRead | None = Field(
        default=None,
        description="a ledger entry's protective-equipment manufacturer (协助联系防护设备厂家)",
    )
    manufacturer_contacts: list[ManufacturerContactRead] = Field(
        default_factory=list, description="the contacts made with manufacturers, oldest first"
    )
    outcome_history: list[OutcomeRecordRead] = Field(
        default_factory=list,
        description="a referral's outcome records, oldest first: the outcome, then corrections",
    )
    findings: list[FindingRead] | None = Field(
        default=None,
        description="the findings of ``finding_ids`` (GET /api/v1/followups?with_findings=true); "
        "null when not asked for",
    )


class WeakeningRead(_Output):
    """A finding in force that a correction removes (``after`` null) or lowers."""

    finding_id: int
    item: str
    title: str = Field(description="the item's title in the catalogue, e.g. 防护密闭门门框锈蚀")
    before: str
    after: str | None


class ProposedFindingRead(_Output):
    item: str
    title: str
    severity: str
    illegal_act: bool
    note: str
    fixed_on_spot: bool


class CorrectionRead(_Output):
    """The review state of a correcting inspection: ``applied`` (took effect at once),
    ``pending`` (removes or lowers findings; waits for an officer other than its author),
    ``approved`` or ``rejected``."""

    inspection_id: int
    corrects: int
    shelter_code: str
    shelter_name: str
    district: str
    author: str = Field(description="username of the correction's author")
    author_name: str = Field(
        default="", description="the author's real name (display name), else their username"
    )
    submitted_at: datetime
    graded_class: int
    status: CorrectionStatus
    reason: str
    changes: list[WeakeningRead]
    proposed_findings: list[ProposedFindingRead]
    decided_by: str | None
    decided_by_name: str | None = Field(
        default=None, description="the decider's real name (display name), else their username"
    )
    decided_at: datetime | None
    decision_note: str


class CorrectionDecision(_Input):
    note: Text = ""


class VerdictRead(_Output):
    finding_id: int
    item: str
    title: str = Field(default="", description="the catalogue's title of the item")
    verdict: Verdict
    note: str
    replacement_id: int | None = Field(
        default=None, description="with worse: the heavier finding recorded in its place"
    )


class InspectionRead(_Output):
    id: int
    shelter_code: str
    inspector: str
    inspected_at: datetime
    submitted_at: datetime
    graded_class: int
    catalogue_version: str
    note: str
    late_reason: str
    corrects: int | None
    correction: CorrectionRead | None = None
    """Set on an inspection that corrects another: its review state. While ``pending`` the
    inspection has no findings or follow-ups yet; they are in ``proposed_findings``."""
    findings: list[FindingRead]
    verdicts: list[VerdictRead] = Field(
        default_factory=list, description="a re-inspection's verdicts on earlier findings"
    )
    followups: list[FollowupRead]
    photos: list[AttachmentRead]


class ShelterRead(_Output):
    code: str
    name: str
    address: str
    district: str
    latitude: float | None
    longitude: float | None
    shelter_type: str
    wartime_function: str
    protection_level: str
    area_m2: float | None
    peacetime_use: str
    use_registered: bool
    responsible_unit: str
    responsible_unit_status: UnitStatus
    responsible_unit_contact: str
    responsible_unit_phone: str
    manager: str | None = Field(description="username of the 工程长's account, if any")
    manager_name: str | None = Field(
        description="the 工程长's name as printed: the account's display name, else "
        "``manager_contact_name``"
    )
    manager_phone: str | None = Field(
        description="the 工程长's phone as printed: the account's, else ``manager_contact_phone``"
    )
    manager_contact_name: str
    manager_contact_phone: str
    inspector: str | None
    signage_installed: bool
    active: bool
    current_class: int | None
    class_changed_at: datetime | None
    updated_at: datetime


class ShelterDetail(ShelterRead):
    open_findings: list[FindingRead]
    draft_findings: list[FindingRead] = []
    """Proposed by monitoring (e.g. sustained humidity) for the next inspection, which
    confirms or dismisses each; they do not count toward the class."""
    sensors: list[SensorRead]


class ReferralOutcome(_Input):
    """What law enforcement decided. A fine (``fine_yuan``, required with ``fined``) must lie
    in the city's range for the party type (``FollowupPolicy.fines``)."""

    status: str = Field(pattern=r"^(referred|warning|fined|dismissed|other)$")
    party_type: PartyType = Field(
        default=PartyType.UNIT, description="who the decision is against: unit or individual"
    )
    fine_yuan: StrictInt | None = Field(default=None, ge=0, le=1_000_000)
    note: Text = ""


class OutcomeCorrection(ReferralOutcome):
    """A corrected outcome, kept beside the records it corrects."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        description="why the outcome in force is corrected"
    )


class UserUpdate(_Input):
    display_name: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    email: EmailStr | None = None
    district: str | None = Field(default=None, max_length=64)
    active: StrictBool | None = None
    password: Password | None = None
    channels: dict[str, Any] | None = None


class PasswordChange(_Input):
    current_password: Annotated[str, StringConstraints(strip_whitespace=False, max_length=256)]
    new_password: Password


class ApiKeyRotate(_Input):
    grace_hours: StrictInt | None = Field(
        default=None,
        ge=0,
        le=30 * 24,
        description="how long the replaced key keeps working (default: the server's setting; "
        "0 stops it at once, e.g. when it leaked)",
    )


class ApiKeyRotated(BaseModel):
    api_key: str = Field(description="The new key, shown once.")
    previous_key_valid_until: datetime | None = Field(
        description="Until when the replaced key still works (null: it stopped already)."
    )


class AuditRead(_Output):
    id: int
    at: datetime
    actor: str = Field(description="username of who acted (``system`` for the server's jobs)")
    actor_name: str = Field(
        default="", description="their real name (display name), else ``actor``"
    )
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


MAX_SWEEP_DAYS = 731
"""The longest sweep period, in days (two years; the city's practice is half a year)."""


class SweepCreate(_Input):
    """A sweep to plan: its name, its period (days in the city's time zone, both included)
    and its shelters, given as whole districts, as codes, or both (their union)."""

    name: Name
    starts_on: date
    ends_on: date
    districts: list[Name] = Field(default_factory=list, max_length=100)
    shelters: list[Code] = Field(default_factory=list, max_length=10_000)


class SweepUpdate(_Input):
    """What the city office changes of a sweep: its name and/or its period (omitted fields
    keep their value)."""

    name: Name | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class SweepAddShelters(_Input):
    """Shelters to add to a planned or running sweep: whole districts, codes, or both (their
    union; active shelters only, those already in the sweep left as they are)."""

    districts: list[Name] = Field(default_factory=list, max_length=100)
    shelters: list[Code] = Field(default_factory=list, max_length=10_000)


class SweepRemoveShelters(_Input):
    """Shelters to take out of a sweep (none of them inspected in its period yet)."""

    shelters: list[Code] = Field(min_length=1, max_length=1000)


class SweepAssign(_Input):
    """Assign these shelters of the sweep to one inspector (replacing any earlier one)."""

    inspector: Code = Field(description="the inspector's username")
    shelters: list[Code] = Field(min_length=1, max_length=1000)


class SweepUnassign(_Input):
    """Take these shelters of the sweep off whoever they were assigned to."""

    shelters: list[Code] = Field(min_length=1, max_length=1000)


class SweepCounts(BaseModel):
    """How far a sweep (or part of one) has got: ``inspected`` + ``not_yet`` = ``shelters``;
    ``overdue`` are those not yet inspected once the period has ended, ``due_soon`` those not
    yet inspected while it ends within the coming days."""

    shelters: int = 0
    assigned: int = 0
    inspected: int = 0
    not_yet: int = 0
    overdue: int = 0
    due_soon: int = 0


class SweepRead(BaseModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    created_by: str
    created_at: datetime
    status: str = Field(description="planned, running or ended (at the time of the answer)")
    progress: SweepCounts = Field(description="within the caller's scope")


class DistrictProgress(SweepCounts):
    district: str


class InspectorProgress(SweepCounts):
    inspector: str | None = Field(description="username; null for shelters not yet assigned")


class SweepProgress(BaseModel):
    sweep: SweepRead
    districts: list[DistrictProgress]
    inspectors: list[InspectorProgress]


class SweepShelterRead(BaseModel):
    """A shelter of a sweep, its assignee and whether it is inspected in the period."""

    code: str
    name: str
    district: str
    inspector: str | None
    assigned_at: datetime | None
    inspected: bool


class SweepMark(BaseModel):
    """The caller's assignment of a shelter in a running sweep."""

    sweep_id: int
    sweep: str
    ends_on: date
    inspected: bool = Field(description="inspected within the sweep's period already")


class ShelterListItem(ShelterRead):
    sweep: SweepMark | None = Field(
        default=None,
        description="for an inspector: the running sweep in which the shelter is assigned to "
        "them (the one ending first)",
    )
