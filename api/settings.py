"""Process settings: one object per process, read from ``SHELTERWATCH_*`` variables and ``.env``.

Built in the entry point (``api.processes.cli``) and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.logs import LogLevel, parse_levels
from api.notify.addresses import AddressGuard, Resolver, system_resolver
from inspection.logins import LoginPolicy
from telemetry.broker_limits import DEFAULT_MAX_PACKET_BYTES, DEFAULT_MAX_QUEUED_MESSAGES
from telemetry.retention import RetentionPolicy

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "shelterwatch", "test"}
_MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Every tunable of ShelterWatch; the README lists each variable with its default."""

    model_config = SettingsConfigDict(
        env_prefix="SHELTERWATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Records
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the records database; unset: the SQLite file "
        "var_dir/shelterwatch.db (embedded default).",
    )
    var_dir: Path = Path("var")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs access tokens and acknowledgement links; unset means a random key "
        "kept in var_dir/secret_key (embedded default).",
    )
    access_token_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    policy_file: Path | None = None
    timezone: str = "Asia/Shanghai"
    records_start: date = Field(
        default=date(2000, 1, 1),
        ge=date(1900, 1, 1),
        description="The first day of the records, in the city's zone: no inspection is dated "
        "before it.",
    )
    pdf_font: Path | None = Field(
        default=None,
        description="CJK font with TrueType outlines (.ttf/.ttc) embedded in every PDF; unset "
        "means the first found of Debian's fonts-wqy-microhei, fonts-wqy-zenhei, "
        "fonts-arphic-uming.",
    )
    referral_authority: str = Field(
        default="市城市管理综合行政执法局",
        min_length=1,
        max_length=100,
        description="The law-enforcement unit referral letters (移送函) are addressed to.",
    )
    local_rules: str = Field(
        default="",
        max_length=2000,
        description="The city's own rules cited after 人民防空法 art. 49 in referral letters "
        "(e.g. 《某市人民防空工程管理办法》第三十条); empty: the law only.",
    )
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    upload_max_files_per_request: int = Field(default=10, ge=1, le=100)
    upload_max_files_per_inspection: int = Field(default=30, ge=1, le=1000)
    upload_max_files_per_finding: int = Field(default=10, ge=1, le=1000)
    upload_max_pixels: int = Field(
        default=40_000_000,
        ge=1_000_000,
        le=89_000_000,
        description="Largest image accepted, in pixels (width × height): bounds the memory a "
        "decode takes, whatever the file's size.",
    )
    files_dir: Path | None = Field(
        default=None, description="Where photos and evidence are kept; unset: var_dir/files."
    )
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(default=50_000, ge=1)
    """Rows after the header of an import, empty ones included."""
    import_max_seconds: float = Field(default=30.0, gt=0)
    """Reading and checking an import, before it is written."""
    tick_interval_seconds: int = Field(default=300, ge=0)

    # Logins (see inspection/logins.py): free failures, then locks doubling from the first
    login_account_free_failures: int = Field(default=5, ge=1, le=100)
    login_client_free_failures: int = Field(default=20, ge=1, le=10_000)
    login_first_lock_seconds: int = Field(default=15, ge=1, le=3600)
    login_account_max_lock_seconds: int = Field(default=300, ge=1, le=3600)
    login_client_max_lock_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    login_failure_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    api_key_grace_hours: int = Field(
        default=24, ge=0, le=30 * 24, description="a rotated API key keeps working this long"
    )
    log_level: LogLevel = "INFO"
    log_levels: Annotated[dict[str, LogLevel], NoDecode] = Field(
        default_factory=dict,
        description="Loggers set apart from the rule that third parties log at WARNING: "
        "`amqtt=INFO,uvicorn.access=INFO`.",
    )
    log_json: bool = False
    map_tile_url: str | None = Field(
        default=None,
        description="XYZ tile URL template of the city's own map tile server, e.g. "
        "`https://tiles.example.gov.cn/{z}/{x}/{y}.png`: the office dashboard shows the "
        "shelters on a map; unset, on a grid by district (nothing is fetched from elsewhere).",
    )
    map_attribution: str = Field(default="", max_length=300)

    # Telemetry
    mqtt_url: str | None = None
    mqtt_admin_url: SecretStr | None = Field(
        default=None,
        description="mqtt://user:password@host:port of the broker's dynamic-security admin "
        "account; set, registering a sensor creates its broker account through the plugin.",
    )
    mqtt_client_id: str = Field(
        default="shelterwatch-ingest", pattern=r"^shelterwatch-[A-Za-z0-9_.-]{1,64}$"
    )
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_shared_group: str | None = None
    mqtt_receive_maximum: int = Field(default=5000, ge=1, le=65535)
    embedded_broker_port: int = Field(default=1884, ge=1, le=65535)
    embedded_broker_max_packet_bytes: int = Field(
        default=DEFAULT_MAX_PACKET_BYTES, ge=1024, le=268_435_455
    )
    embedded_broker_max_queued_messages: int = Field(default=DEFAULT_MAX_QUEUED_MESSAGES, ge=1)
    influx_url: str | None = None
    influx_token: SecretStr = SecretStr("")
    influx_org: str = "shelterwatch"
    influx_bucket: str = "shelterwatch"
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    batch_interval_ms: int = Field(default=100, ge=1, le=60_000)
    store_writers: int = Field(default=3, ge=1, le=8)
    retention_days: int = Field(default=365, ge=1)
    raw_retention_days: int = Field(default=90, ge=2, le=36_500)
    """Raw readings are kept this long; then only their hourly aggregates."""
    hourly_retention_days: int = Field(default=1826, ge=2, le=36_500)
    """Hourly aggregates (mean, min, max, count per metric) are kept this long."""
    retention_interval_seconds: int = Field(default=300, ge=0)
    """How often ``serve`` rolls up hours and purges (SQL store) or checks the retention
    policies and continuous query (InfluxDB 1.x); 0: never (the SQL store then keeps every
    reading and reads every window raw)."""
    influx_rollup: bool = True
    """InfluxDB 1.x: manage the retention policies and the hourly continuous query, and read
    long windows hourly. False for 2.x/3.x, whose bucket retention the operator sets: series
    are then always read from the raw readings."""
    reject_store_max: int = Field(default=100_000, ge=100)
    directory_refresh_seconds: int = Field(default=60, ge=1)

    # Alerts and notifications
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach the API and the web app: acknowledgement links in "
        "notifications, the QR codes of shelter signs.",
    )
    alert_escalate_after_minutes: int = Field(default=10, ge=1)
    alert_renotify_minutes: int = Field(default=30, ge=1)
    alert_warning_notice_hours: int = Field(default=12, ge=1)
    alert_late_after_minutes: int = Field(default=10, ge=1)
    ack_link_hours: int = Field(default=24, ge=1, le=24 * 14)
    delivery_interval_seconds: float = Field(default=2.0, gt=0)
    delivery_max_attempts: int = Field(default=6, ge=1, le=20)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "shelterwatch@localhost"
    smtp_starttls: bool = False
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Set: the API's /metrics answers only `Authorization: Bearer <token>`; "
        "unset: open, as on the ingester's private port.",
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (or IP literals) that webhook, WeCom and DingTalk URLs may "
        "name although they are internal addresses, separated by commas; every other "
        "loopback, link-local, private, multicast or unspecified address is refused.",
    )

    @field_validator("secret_key")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.lower() in _PLACEHOLDER_SECRETS or len(raw) < _MIN_SECRET_LENGTH:
            raise ValueError(
                f"SHELTERWATCH_SECRET_KEY must be a random string of at least "
                f"{_MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value.replace("{", "").replace("}", ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("SHELTERWATCH_MAP_TILE_URL must be an http(s) URL")
        if not all(f"{{{k}}}" in value for k in "zxy"):
            raise ValueError("SHELTERWATCH_MAP_TILE_URL must hold {z}, {x} and {y}")
        return value

    @property
    def map_tile_origin(self) -> str | None:
        """The origin the map's tiles come from (allowed as an image source), if any."""
        if self.map_tile_url is None:
            return None
        parts = urlsplit(self.map_tile_url.replace("{", "").replace("}", ""))
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("log_levels", mode="before")
    @classmethod
    def _parse_log_levels(cls, value: object) -> object:
        return parse_levels(value) if isinstance(value, str) else value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    def address_guard(self, resolver: Resolver = system_resolver) -> AddressGuard:
        """What the notification channels may connect to (:mod:`api.notify.addresses`)."""
        return AddressGuard(resolver, frozenset(self.webhook_allowed_hosts))

    @model_validator(mode="after")
    def _records_in_var_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'shelterwatch.db').as_posix()}"
        return self

    @model_validator(mode="after")
    def _consistent_retention(self) -> Settings:
        if self.hourly_retention_days < self.raw_retention_days:
            raise ValueError(
                "SHELTERWATCH_HOURLY_RETENTION_DAYS must be at least "
                "SHELTERWATCH_RAW_RETENTION_DAYS"
            )
        return self

    def retention_policy(self) -> RetentionPolicy | None:
        """How long readings are kept and when series are read hourly; None when the store
        keeps no hourly aggregates (InfluxDB with ``influx_rollup`` off, or the SQL store with
        its retention job off)."""
        if self.influx_url and not self.influx_rollup:
            return None
        if not self.influx_url and self.retention_interval_seconds == 0:
            return None  # the SQL store's rollup never runs: every window is read raw
        return RetentionPolicy(
            raw=timedelta(days=self.raw_retention_days),
            hourly=timedelta(days=self.hourly_retention_days),
        )

    @model_validator(mode="after")
    def _consistent_login_policy(self) -> Settings:
        self.login_policy()  # raises ValueError when the window is shorter than a lock
        return self

    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            account_free_failures=self.login_account_free_failures,
            client_free_failures=self.login_client_free_failures,
            base_lock_s=self.login_first_lock_seconds,
            account_max_lock_s=self.login_account_max_lock_seconds,
            client_max_lock_s=self.login_client_max_lock_seconds,
            window_s=self.login_failure_window_minutes * 60,
        )

    def records_start_at(self) -> datetime:
        """The first moment of ``records_start`` in the city's zone."""
        return datetime.combine(self.records_start, time(), ZoneInfo(self.timezone))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_files_dir(self) -> Path:
        return self.files_dir if self.files_dir is not None else self.var_dir / "files"

    def resolved_spool_dir(self) -> Path:
        return self.spool_dir if self.spool_dir is not None else self.var_dir / "spool"

    def signing_key(self) -> str:
        """The secret for tokens; generated once into ``var_dir/secret_key`` when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key, encoding="utf-8")
        path.chmod(0o600)
        return key
