"""ORM tables of the register, inspections, follow-ups, notifications outbox and audit log.

Relationships are ``lazy="raise"`` so that an unplanned N+1 query fails loudly; load what
a query needs with ``selectinload``/``joinedload``. All times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a tz-aware time")
        value = value.astimezone(UTC)
        # SQLite has no time zone type; keep naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the inspection tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Role(StrEnum):
    ADMIN = "admin"
    DISTRICT_OFFICER = "district_officer"
    INSPECTOR = "inspector"
    MANAGER = "manager"
    PLATFORM = "platform"


class UnitStatus(StrEnum):
    KNOWN = "known"
    DISPUTED = "disputed"
    UNKNOWN = "unknown"


class FindingStatus(StrEnum):
    OPEN = "open"
    FIX_REPORTED = "fix_reported"
    CLOSED = "closed"


class Verdict(StrEnum):
    """What a re-inspection (复查) says of a finding left open by an earlier visit."""

    FIXED = "fixed"  # 已整改: closed, verified by the visit
    OPEN = "open"  # 仍未整改: kept open, no second finding
    WORSE = "worse"  # 加重: replaced by a heavier finding of the same item


class CorrectionStatus(StrEnum):
    APPLIED = "applied"  # removed or lowered nothing: in effect from submission
    PENDING = "pending"  # removes or lowers findings: waits for an officer's approval
    APPROVED = "approved"
    REJECTED = "rejected"


class FollowupKind(StrEnum):
    NOTICE = "notice"  # class 2: 整改通知书
    LEDGER = "ledger"  # class 3: 问题台账
    KEY_SUPERVISION = "key_supervision"  # class 4: 重点督导
    REFERRAL = "referral"  # illegal act: 移交执法


class FollowupStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    CLOSED = "closed"


def _enum_values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


def revision_column() -> Mapped[int]:
    """A counter every UPDATE of the row raises by one (in SQL, so concurrent writers and
    bulk updates count too); 0 when inserted. A sum over rows changes whenever one of them
    does, which is how a joined view's page is validated without building it."""
    return mapped_column(
        Integer, default=0, server_default="0", onupdate=literal_column("revision") + 1
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({_enum_values(Role)})", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_api_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    """The key replaced by the last rotation, valid until ``previous_api_key_expires_at``."""
    previous_api_key_expires_at: Mapped[datetime | None]
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Access tokens carry the version they were issued under; a password change or a logout
    raises it, which revokes every token issued before."""
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    revision: Mapped[int] = revision_column()


class LoginThrottle(Base):
    """Recent failed logins of one account (``account:<username>``) or one client address
    (``client:<address>``), kept in the database so that every API process and a restart see
    the same counts (see :mod:`inspection.logins`)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]


class Shelter(Base):
    __tablename__ = "shelters"
    __table_args__ = (
        CheckConstraint(
            f"responsible_unit_status IN ({_enum_values(UnitStatus)})",
            name="ck_shelters_unit_status",
        ),
        CheckConstraint(
            "current_class IS NULL OR current_class BETWEEN 1 AND 4", name="ck_shelters_class"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str] = mapped_column(String(64), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    shelter_type: Mapped[str] = mapped_column(String(64), default="")
    wartime_function: Mapped[str] = mapped_column(String(64), default="")
    protection_level: Mapped[str] = mapped_column(String(32), default="")
    area_m2: Mapped[float | None] = mapped_column(Float)
    peacetime_use: Mapped[str] = mapped_column(String(128), default="")
    use_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    responsible_unit: Mapped[str] = mapped_column(String(200), default="")
    responsible_unit_status: Mapped[str] = mapped_column(String(16), default=UnitStatus.KNOWN)
    responsible_unit_contact: Mapped[str] = mapped_column(
        String(128), default="", server_default=""
    )
    """The responsible unit's contact person."""
    responsible_unit_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The 工程长's account, once the office has given them one."""
    manager_contact_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    """The 工程长 as a contact, account or not: their name and phone as the register has them
    (a linked account's display name and phone take precedence, see
    :func:`inspection.contacts.manager_contact`)."""
    manager_contact_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    signage_installed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_class: Mapped[int | None] = mapped_column(Integer, index=True)
    class_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int] = revision_column()

    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id], lazy="raise")
    inspector: Mapped[User | None] = relationship(foreign_keys=[inspector_id], lazy="raise")
    sensors: Mapped[list[Sensor]] = relationship(back_populates="shelter", lazy="raise")


class Sensor(Base):
    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor_id: Mapped[str] = mapped_column(String(64), unique=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), index=True)
    zone: Mapped[str] = mapped_column(String(64), default="")
    expected_interval_s: Mapped[int] = mapped_column(Integer, default=600)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int] = revision_column()

    shelter: Mapped[Shelter] = relationship(back_populates="sensors", lazy="raise")


class Sweep(Base):
    """A planned round of inspections (the half-year sweep): a period and the shelters it
    covers, fixed when it is created (see :mod:`inspection.sweeps`)."""

    __tablename__ = "sweeps"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ck_sweeps_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    """The first and the last day of the period, in the city's time zone."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    """The period as instants: midnight starting ``starts_on`` and midnight after ``ends_on``
    in the city's time zone (an inspection counts when ``starts_at <= inspected_at <
    ends_at``)."""
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class SweepShelter(Base):
    """A shelter of a sweep and, once assigned, the inspector who is to visit it."""

    __tablename__ = "sweep_shelters"

    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id"), primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), primary_key=True, index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None]


class Inspection(Base):
    """A signed inspection: immutable once stored; a correction is a new record."""

    __tablename__ = "inspections"
    __table_args__ = (
        Index("uq_inspections_idempotency", "inspector_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime]
    submitted_at: Mapped[datetime]
    graded_class: Mapped[int] = mapped_column(Integer)
    catalogue_version: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    late_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Why the inspection reached the server long after the visit (required past the
    policy's ``late_entry_days``)."""
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    """The submission's Idempotency-Key (unique per inspector) and the SHA-256 of what was
    submitted: a retry with the same key and body finds this inspection."""
    request_hash: Mapped[str | None] = mapped_column(String(64))

    findings: Mapped[list[Finding]] = relationship(
        back_populates="inspection", lazy="raise", order_by="Finding.id"
    )
    shelter: Mapped[Shelter] = relationship(lazy="raise")
    inspector: Mapped[User] = relationship(lazy="raise")


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 3", name="ck_findings_severity"),
        CheckConstraint(f"status IN ({_enum_values(FindingStatus)})", name="ck_findings_status"),
        Index("ix_findings_shelter_status", "shelter_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"))
    item_code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    illegal_act: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    fixed_on_spot: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=FindingStatus.OPEN)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    fix_reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fix_reported_at: Mapped[datetime | None]
    fix_note: Mapped[str] = mapped_column(Text, default="")
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    verify_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    revision: Mapped[int] = revision_column()

    inspection: Mapped[Inspection | None] = relationship(back_populates="findings", lazy="raise")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="finding", lazy="raise", order_by="Attachment.id"
    )


class Correction(Base):
    """The review state of an inspection that corrects another (see
    :mod:`inspection.corrections`): one row per correcting inspection. While ``pending`` its
    findings exist only as ``proposed``; approval turns them into findings."""

    __tablename__ = "corrections"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({_enum_values(CorrectionStatus)})", name="ck_corrections_status"
        ),
        Index(
            "uq_corrections_one_pending",
            "corrects_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    corrects_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The findings in force it removes or lowers: what an approver judges."""
    proposed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The correction's findings as validated (item, severity, illegal act, note, open)."""
    tracker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Attachment(Base):
    """A photo or file: inspection evidence, the evidence of a reported fix or of a class 4
    milestone. The bytes live
    in the file store (``inspection.files``) under ``file_key``; rows stored before that kept
    them in ``data`` and have no ``file_key``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    """Set on the evidence of a class 4 milestone (purpose ``containment`` or ``plan``)."""
    purpose: Mapped[str] = mapped_column(String(16))  # "inspection" | "fix" | a milestone
    filename: Mapped[str] = mapped_column(String(255))
    """The client's name for the file, sanitised, for display only."""
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    """Bytes of the file as stored (after re-encoding)."""
    sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the file as uploaded: a re-sent file is recognised by it."""
    file_key: Mapped[str | None] = mapped_column(String(64))
    thumbnail_key: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]

    finding: Mapped[Finding | None] = relationship(back_populates="attachments", lazy="raise")


class Followup(Base):
    """What an inspection's class sets in motion: a notice, a ledger entry, key supervision,
    or an enforcement referral, with its deadlines."""

    __tablename__ = "followups"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(FollowupKind)})", name="ck_followups_kind"),
        CheckConstraint(f"status IN ({_enum_values(FollowupStatus)})", name="ck_followups_status"),
        Index("ix_followups_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    class_level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=FollowupStatus.OPEN)
    issued_at: Mapped[datetime]
    due_at: Mapped[datetime]
    checkpoint_at: Mapped[datetime | None]
    containment_due_at: Mapped[datetime | None]
    plan_due_at: Mapped[datetime | None]
    tracker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_class: Mapped[int | None] = mapped_column(Integer)
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("manufacturers.id"))
    """Class 3: the protective-equipment manufacturer the office helps the unit reach."""
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A referral's outcome in force: the latest of its ``referral_outcomes`` records, as
    ``inspection.followups`` writes it with each record."""
    revision: Mapped[int] = revision_column()

    shelter: Mapped[Shelter] = relationship(lazy="raise")
    tracker: Mapped[User | None] = relationship(lazy="raise")
    findings: Mapped[list[Finding]] = relationship(
        secondary="followup_findings", lazy="raise", order_by="Finding.id"
    )


class Manufacturer(Base):
    """A maker of protective equipment (防护设备厂家) in the office's directory."""

    __tablename__ = "manufacturers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    products: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    contact_name: Mapped[str] = mapped_column(String(128), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]


class ManufacturerContact(Base):
    """One contact made with a ledger entry's manufacturer: who made it, when, what came of
    it. Only appended."""

    __tablename__ = "manufacturer_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    manufacturer_id: Mapped[int] = mapped_column(ForeignKey("manufacturers.id"))
    contacted_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class Milestone(StrEnum):
    """The milestones of key supervision recorded as done; completion is the follow-up
    closing when its last finding is verified."""

    CONTAINMENT = "containment"  # 控制险情
    PLAN = "plan"  # 报送整改方案


class MilestoneRecord(Base):
    """A class 4 milestone recorded as done: when, by whom, with a note (evidence photos are
    attachments of the follow-up with the milestone as their purpose). At most one per
    milestone; it is never changed."""

    __tablename__ = "followup_milestones"
    __table_args__ = (
        UniqueConstraint("followup_id", "milestone", name="uq_followup_milestones"),
        CheckConstraint(
            f"milestone IN ({_enum_values(Milestone)})", name="ck_followup_milestones_milestone"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class PartyType(StrEnum):
    """Who a referral's decision is against (人民防空法 art. 49 fines them differently)."""

    UNIT = "unit"
    INDIVIDUAL = "individual"


class OutcomeRecord(Base):
    """One record of a referral's outcome: the first recorded (``outcome``) or a later
    ``correction`` with its reason. Records are only appended; the latest is in force."""

    __tablename__ = "referral_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "outcome" | "correction"
    status: Mapped[str] = mapped_column(String(16))
    party_type: Mapped[str | None] = mapped_column(String(16))
    fine_yuan: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class DocumentSequence(Base):
    """The last number issued of each kind of document in each year: one row per series,
    incremented in the issuing transaction, so numbers run without gaps (see
    :mod:`inspection.numbering`)."""

    __tablename__ = "document_sequences"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class FindingVerdict(Base):
    """A re-inspection's verdict on a finding of an earlier visit (:mod:`inspection.reinspection`):
    one row per inspection and finding, never changed. ``replacement_id`` is the heavier
    finding the inspection recorded in its place when the verdict is ``worse``."""

    __tablename__ = "finding_verdicts"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    replacement_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))


class FollowupFinding(Base):
    __tablename__ = "followup_findings"

    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), primary_key=True)


class ClassChange(Base):
    """Every change of a shelter's current class, with its reason."""

    __tablename__ = "class_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), index=True)
    from_class: Mapped[int | None] = mapped_column(Integer)
    to_class: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class OutboxStatus(StrEnum):
    """The stored status of a notification and of each of its deliveries (the outbox).

    A notification is ``pending`` until its deliveries are finished, then ``sent`` (one of
    them delivered) or ``dead`` (none); ``undeliverable`` when no channel could carry it. A
    delivery is ``pending`` (waiting for its next attempt) until ``delivered`` or ``dead``.
    """

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    DEAD = "dead"
    UNDELIVERABLE = "undeliverable"


class Notification(Base):
    """Outbox of messages to people; ``dedupe_key`` makes every producer idempotent."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    shelter_id: Mapped[int | None] = mapped_column(ForeignKey("shelters.id"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Append-only record of every create, update and transition."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ComplianceSnapshot(Base):
    """Compliance per district ('' = city-wide) for one month, kept as history."""

    __tablename__ = "compliance_history"
    __table_args__ = (UniqueConstraint("month", "district", name="uq_compliance_month_district"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the city's time zone
    district: Mapped[str] = mapped_column(String(64))
    active_shelters: Mapped[int] = mapped_column(Integer)
    class1_shelters: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float | None] = mapped_column(Float)
    by_class: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime]


class Delivery(Base):
    """One notification sent through one channel to one target, retried with backoff until
    delivered or dead; ``(notification, channel, target)`` is unique so nothing is sent twice
    by two workers."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "target", name="uq_delivery_target"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email|webhook|wecom|dingtalk|mqtt
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class DeliveryAttempt(Base):
    """Every try of a delivery, with its outcome."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
