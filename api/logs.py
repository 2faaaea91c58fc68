"""Logging set-up for every process: plain text or one JSON object per line.

ShelterWatch's own loggers (``shelterwatch``, ``api``, ``telemetry``, ``inspection`` and their
children) log at ``SHELTERWATCH_LOG_LEVEL``. Every other logger (amqtt and the
``transitions`` state machine under it, paho, urllib3, httpx, uvicorn, alembic, ...) logs at
WARNING or above, so that a third party's INFO chatter never buries our own lines, unless
the level is DEBUG (then everything logs at DEBUG) or ``SHELTERWATCH_LOG_LEVELS`` names it
(``amqtt=INFO,uvicorn.access=INFO``), which also sets any of our own loggers apart.

Every line passes :class:`RedactSecrets`: channel keys and tokens in URLs (``key=``,
``access_token=``, ``sign=``, ``secret=``, ``token=``) are masked whoever logs them (httpx
logs each request's URL at INFO).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal, cast, get_args

from inspection.redact import mask_text

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_LEVELS: Final[tuple[str, ...]] = get_args(LogLevel)

OWN_LOGGERS: Final = ("shelterwatch", "api", "telemetry", "inspection")
"""The roots of ShelterWatch's logger names: these log at the configured level."""

_LOGGER_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
_set_apart: set[str] = set()
"""Loggers that the last :func:`configure` gave a level of their own."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class RedactSecrets(logging.Filter):
    """Masks secret URL parameters in a record's message (its arguments merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def parse_levels(text: str) -> dict[str, LogLevel]:
    """``NAME=LEVEL[,NAME=LEVEL...]`` as a mapping; ValueError names what is wrong."""
    levels: dict[str, LogLevel] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, level = (part.strip() for part in item.partition("="))
        if not sep or _LOGGER_NAME.fullmatch(name) is None:
            raise ValueError(f"{item.strip()!r} is not LOGGER=LEVEL (e.g. amqtt=INFO)")
        level = level.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"level of {name!r} must be one of {', '.join(LOG_LEVELS)}")
        levels[name] = cast(LogLevel, level)
    return levels


def configure(
    level: LogLevel, *, json_lines: bool, levels: Mapping[str, LogLevel] | None = None
) -> None:
    """Send every log record to stderr, our loggers at `level`, the others at WARNING or
    above (DEBUG when `level` is DEBUG); `levels` sets single loggers apart."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    own = logging.getLevelNamesMapping()[level]
    root.setLevel(own if own == logging.DEBUG else max(own, logging.WARNING))
    for name in _set_apart:
        logging.getLogger(name).setLevel(logging.NOTSET)
    _set_apart.clear()
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for name, name_level in (levels or {}).items():
        logging.getLogger(name).setLevel(name_level)
        _set_apart.add(name)
