"""Dates and times as a Chinese reader writes them, in the city's zone (2026年3月1日,
2026年3月1日14时05分): on the documents and in the messages people read. Machine-readable
fields (payloads, exports) keep ISO 8601."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def cn_date(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


def cn_datetime(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{cn_date(local, zone)}{local.hour}时{local.minute:02d}分"
