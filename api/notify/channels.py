"""Channel adapters that carry one outbox notification to one target, and the channel profile
of a user that says which targets they have.

Channel profile (``User.channels``, validated by :class:`ChannelProfile`)::

    {
      "email": true,                         # mail to User.email; true when absent
      "webhook": {"url": "https://...", "secret": "<at least 16 characters>"},
      "wecom": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."},
      "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=...",
                   "secret": "SEC..."}       # secret optional: the robot's 加签 key
    }

A delivery row stores only the channel name and the target (an address, a URL or an MQTT
topic); a secret stays in the profile and is read at send time with
:meth:`ChannelProfile.secret_for`, so the deliveries table never holds one.

The HTTP channels connect only to public addresses (:mod:`api.notify.addresses`) when
given the client of :func:`api.notify.guarded_http.guarded_client`, as every process does;
a refused address is a failure not worth retrying.

Errors: every adapter raises :class:`ChannelError` with ``retryable`` telling the outbox
worker whether to try again later (timeouts, 408/429/5xx, a robot's ``errcode``) or to give
up at once (the receiver refused the message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote_plus

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from api.notify.addresses import ForbiddenAddress
from inspection.redact import MASK
from telemetry.instants import to_ms
from telemetry.mqtt import BrokerAddress

if TYPE_CHECKING:  # httpx is loaded by the processes that deliver over HTTP (see _post)
    import httpx

_ROBOT_TEXT_MAX = 3500  # WeCom caps markdown content at 4096 bytes; DingTalk is similar.


class ChannelError(Exception):
    """A send that failed; ``retryable`` is False when trying again cannot help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What every channel sends for one notification; identical on every retry."""

    notification_id: int
    kind: str
    subject: str
    body: str
    payload: Mapping[str, Any]
    created_at: datetime
    ack_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The generic JSON document of webhooks and the MQTT alert topic."""
        return {
            "id": self.notification_id,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
            "payload": dict(self.payload),
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "ack_url": self.ack_url,
        }

    def json_bytes(self) -> bytes:
        return json.dumps(self.as_json(), ensure_ascii=False, separators=(",", ":")).encode()

    def with_link(self, text: str, label: str) -> str:
        """``text`` followed by the acknowledgement link, unless the body already has it."""
        if self.ack_url and self.ack_url not in self.body:
            return f"{text}\n\n{label}"
        return text

    def markdown(self) -> str:
        """Subject, body and the acknowledgement link as robot markdown, within robot limits."""
        text = f"### {self.subject}\n\n{self.body}"
        if len(text) > _ROBOT_TEXT_MAX:
            text = text[: _ROBOT_TEXT_MAX - 1] + "…"
        return self.with_link(text, f"[确认告警]({self.ack_url})")


class Channel(Protocol):
    """Sends a message to a target; raises :class:`ChannelError` on failure.

    ``secret`` is the target's signing key from the recipient's profile, when it has one."""

    name: str

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """A channel holding a connection or a client, released by ``close()``."""

    def close(self) -> None: ...


def close_channels(channels: Iterable[Channel]) -> None:
    """Close every channel that holds a connection; closing twice is harmless."""
    for channel in channels:
        if isinstance(channel, Closable):
            channel.close()


# --- channel profile ---------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_masked(value: str | None) -> str | None:
    if value is not None and MASK in value:
        raise ValueError(f"{MASK} is how a stored secret is shown; send the secret itself")
    return value


class WebhookTarget(_Entry):
    url: HttpUrl
    secret: str = Field(min_length=16, max_length=200)

    _secret_given = field_validator("secret")(_not_masked)


class WeComTarget(_Entry):
    url: HttpUrl

    @field_validator("url")
    @classmethod
    def _key_given(cls, value: HttpUrl) -> HttpUrl:
        _not_masked(str(value).replace("%2A", "*"))
        return value


class DingTalkTarget(_Entry):
    url: HttpUrl
    secret: str | None = Field(default=None, min_length=1, max_length=200)

    _secret_given = field_validator("secret")(_not_masked)

    @field_validator("url")
    @classmethod
    def _token_given(cls, value: HttpUrl) -> HttpUrl:
        _not_masked(str(value).replace("%2A", "*"))
        return value


class ChannelProfile(_Entry):
    """A user's delivery channels (the format in this module's docstring)."""

    email: bool = True
    webhook: WebhookTarget | None = None
    wecom: WeComTarget | None = None
    dingtalk: DingTalkTarget | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> ChannelProfile:
        """The profile in a ``User.channels`` value; raises ``pydantic.ValidationError``."""
        return cls.model_validate(dict(raw or {}))

    def urls(self) -> list[tuple[str, str]]:
        """``(channel, url)`` of the HTTP channels in the profile."""
        entries = (("webhook", self.webhook), ("wecom", self.wecom), ("dingtalk", self.dingtalk))
        return [(name, str(entry.url)) for name, entry in entries if entry is not None]

    def targets(self, email: str | None) -> list[tuple[str, str]]:
        """``(channel, target)`` pairs to deliver to; the email address is the user's own."""
        found: list[tuple[str, str]] = []
        if self.email and email:
            found.append(("email", email))
        return found + self.urls()

    def secret_for(self, channel: str, target: str) -> str | None:
        """The signing secret of ``channel`` when its profile entry still points at ``target``."""
        entry = {"webhook": self.webhook, "dingtalk": self.dingtalk}.get(channel)
        if isinstance(entry, WebhookTarget | DingTalkTarget) and str(entry.url) == target:
            return entry.secret
        return None


# --- HTTP channels -----------------------------------------------------------------------


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> httpx.Response:
    """POST and sort the outcome: 2xx returns; 408/429/5xx and transport errors retry."""
    import httpx

    try:
        response = client.post(
            url,
            content=body,
            timeout=timeout,
            headers={"Content-Type": "application/json; charset=utf-8", **headers},
        )
    except ForbiddenAddress as exc:
        raise ChannelError(f"refused address: {exc}", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    if response.is_success:
        return response
    status = response.status_code
    retryable = status in (408, 429) or status >= 500
    raise ChannelError(f"HTTP {status}: {response.text[:200]}", retryable=retryable)


def _robot_answer(response: httpx.Response) -> None:
    """A group robot answers 200 with ``{"errcode": 0}`` on success, another code on failure."""
    try:
        answer = response.json()
    except ValueError as exc:
        raise ChannelError(
            f"robot answered non-JSON: {response.text[:200]}", retryable=True
        ) from exc
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise ChannelError(f"robot errcode {code}: {message}", retryable=True)


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Base64 HMAC-SHA256 of ``"{timestamp}\\n{secret}"`` keyed by the secret (before URL
    encoding), as DingTalk documents for a robot with 加签."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _HttpChannel:
    timeout: float
    client: httpx.Client

    def close(self) -> None:
        """Close the HTTP client, which the HTTP channels may share (closing twice is
        harmless)."""
        self.client.close()


@dataclass
class WebhookChannel(_HttpChannel):
    """Generic JSON webhook, signed with the target's secret.

    Headers: ``X-ShelterWatch-Delivery`` (notification id, the receiver's dedupe key),
    ``X-ShelterWatch-Timestamp`` (unix seconds) and ``X-ShelterWatch-Signature``
    (:func:`webhook_signature` over the exact body bytes)."""

    clock: Callable[[], datetime] = _utc_now
    name: str = "webhook"

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        if not secret:
            raise ChannelError("webhook target has no secret in the profile", retryable=False)
        body = message.json_bytes()
        timestamp = int(self.clock().timestamp())
        headers = {
            "X-ShelterWatch-Delivery": str(message.notification_id),
            "X-ShelterWatch-Timestamp": str(timestamp),
            "X-ShelterWatch-Signature": webhook_signature(secret, timestamp, body),
        }
        _post(self.client, target, body, headers, self.timeout)


@dataclass
class WeComChannel(_HttpChannel):
    """WeCom (企业微信) group robot: a markdown message to the robot's webhook URL."""

    name: str = "wecom"

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        doc = {"msgtype": "markdown", "markdown": {"content": message.markdown()}}
        body = json.dumps(doc, ensure_ascii=False).encode()
        _robot_answer(_post(self.client, target, body, {}, self.timeout))


@dataclass
class DingTalkChannel(_HttpChannel):
    """DingTalk (钉钉) group robot: markdown; signed with ``timestamp``/``sign`` query
    parameters when the profile has the robot's secret."""

    clock: Callable[[], datetime] = _utc_now
    name: str = "dingtalk"

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        doc = {
            "msgtype": "markdown",
            "markdown": {"title": message.subject, "text": message.markdown()},
        }
        body = json.dumps(doc, ensure_ascii=False).encode()
        url = target
        if secret:
            timestamp = to_ms(self.clock())
            sign = quote_plus(dingtalk_sign(secret, timestamp))
            url = f"{target}{'&' if '?' in target else '?'}timestamp={timestamp}&sign={sign}"
        _robot_answer(_post(self.client, url, body, {}, self.timeout))


# --- email -------------------------------------------------------------------------------


@dataclass
class EmailChannel:
    """SMTP mail; the Message-ID ``<notification-{id}@shelterwatch>`` is the same on every
    retry so a receiving system can drop a duplicate."""

    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool = False
    timeout: float = 10.0
    name: str = "email"

    def compose(self, target: str, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = target
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.created_at.astimezone(UTC))
        mail["Message-ID"] = f"<notification-{message.notification_id}@shelterwatch>"
        text = message.with_link(message.body, f"确认告警（无需登录）：{message.ack_url}")
        mail.set_content(text, charset="utf-8")
        return mail

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        mail = self.compose(target, message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ChannelError(
                f"recipient refused: {exc.recipients}", retryable=all(400 <= c < 500 for c in codes)
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"SMTP login refused: {exc.smtp_code}", retryable=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}", retryable=True) from exc


# --- MQTT --------------------------------------------------------------------------------

_MQTT_PERMANENT = {0x87, 0x90, 0x99}  # not authorized, topic name invalid, payload format


@dataclass
class MqttChannel:
    """A long-lived paho 2 publisher: QoS 1 to the target topic, waiting for the PUBACK."""

    address: BrokerAddress
    client_id: str
    protocol: str = "5"
    timeout: float = 10.0
    name: str = "mqtt"
    _client: mqtt.Client | None = field(default=None, init=False, repr=False)
    _acks: dict[int, ReasonCode] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            v5 = self.protocol == "5"
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            )
            if self.address.username:
                client.username_pw_set(self.address.username, self.address.password)
            self.address.secure(client)
            client.reconnect_delay_set(min_delay=1, max_delay=30)
            client.on_publish = self._on_publish
            client.connect_async(self.address.host, self.address.port, keepalive=30)
            client.loop_start()
            self._client = client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        self.start()
        client = self._client
        deadline = time.monotonic() + self.timeout
        while client is not None and not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        if client is None or not client.is_connected():
            raise ChannelError(
                f"MQTT broker {self.address.host}:{self.address.port} not connected", retryable=True
            )
        info = client.publish(target, message.json_bytes(), qos=1)
        try:
            info.wait_for_publish(self.timeout)
        except (ValueError, RuntimeError) as exc:
            raise ChannelError(f"MQTT publish failed: {exc}", retryable=True) from exc
        with self._lock:
            reason = self._acks.pop(info.mid, None)
        if not info.is_published():
            raise ChannelError(f"no PUBACK within {self.timeout}s", retryable=True)
        if reason is not None and reason.is_failure:
            raise ChannelError(
                f"broker refused the message: {reason}",
                retryable=reason.value not in _MQTT_PERMANENT,
            )

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties
    ) -> None:
        with self._lock:
            self._acks[mid] = reason
