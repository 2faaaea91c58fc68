"""Who to call about a shelter: its 工程长 and its responsible unit, as every document and
view shows them.

A 工程长 may be on the register as a contact only (``manager_contact_name``,
``manager_contact_phone``) until the office gives them an account; once an account is linked
(``Shelter.manager``), its display name and phone take precedence, field by field, and the
contact fields fill what the account lacks. :func:`manager_contact` is the one place that
decides this; a login name is never shown as a person's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspection.models import Shelter, User


@dataclass(frozen=True, slots=True)
class Contact:
    """A person's name and phone as printed; None where the register has none."""

    name: str | None
    phone: str | None

    def line(self) -> str | None:
        """Name and phone on one line (``赵主任 010-66001234``); None when both are missing."""
        return " ".join(v for v in (self.name, self.phone) if v) or None


def account_name(user: User) -> str | None:
    """The account's real name: its display name, unless empty or the login name itself
    (what accounts were once given by default)."""
    name = user.display_name.strip()
    return name if name and name != user.username else None


def person_label(user: User | None) -> str | None:
    """How a person is named on screens and in messages: the real name, else the login
    name; None for nobody."""
    if user is None:
        return None
    return account_name(user) or user.username


def manager_contact(shelter: Shelter) -> Contact:
    """The 工程长's name and phone for ``shelter`` (loaded with its ``manager``): the linked
    account's, each field falling back to the register's contact fields."""
    account = shelter.manager
    name = account_name(account) if account is not None else None
    phone = (account.phone or "").strip() if account is not None else ""
    return Contact(
        name=name or shelter.manager_contact_name.strip() or None,
        phone=phone or shelter.manager_contact_phone.strip() or None,
    )


def unit_contact(shelter: Shelter) -> Contact:
    """The responsible unit's contact person and phone."""
    return Contact(
        name=shelter.responsible_unit_contact.strip() or None,
        phone=shelter.responsible_unit_phone.strip() or None,
    )
