"""What the PDF documents share: Chinese dates, the shelter's location, the manager's contact.

Dates are written as Chinese official documents write them (GB/T 9704): ``2026年5月1日``,
Arabic numerals without leading zeros, in the city's time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from inspection.models import User

UNREGISTERED = "未登记"
"""Printed where the register lacks a value, so the gap is visible rather than blank."""


def cn_date(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


def cn_datetime(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{cn_date(local, zone)}{local.hour}时{local.minute:02d}分"


def location(district: str, address: str) -> str:
    """The address as printed: the district once, prefixed only when the address lacks it."""
    address = address.strip()
    if not address:
        return district
    return address if district and district in address else f"{district}{address}"


def manager_contact(manager: User | None) -> tuple[str | None, str | None]:
    """The 工程长's real name and phone as the register has them. The login name is not a
    name: a display name equal to it (what accounts were once given by default) is none."""
    if manager is None:
        return None, None
    name = manager.display_name.strip()
    phone = (manager.phone or "").strip()
    return (name if name and name != manager.username else None), phone or None
