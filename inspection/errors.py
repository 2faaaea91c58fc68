"""Errors raised by the inspection package; ``api`` maps each to an HTTP status.

InspectionError           (base; carries a stable ``code`` and a message)
├── NotFound              the thing does not exist, or the caller may not know it does
├── Forbidden             the caller may see it but not do this
├── Conflict              it exists already, or its state forbids the transition
├── InvalidInput          the request is well-formed but breaks a rule
└── Unavailable           the server lacks something it needs (e.g. the font of PDF documents)
"""

from __future__ import annotations

from typing import Any


class InspectionError(Exception):
    """Base of the tree; ``code`` is stable and machine-readable."""

    code = "inspection_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(InspectionError):
    code = "not_found"


class Forbidden(InspectionError):
    code = "forbidden"


class Conflict(InspectionError):
    code = "conflict"


class InvalidInput(InspectionError):
    code = "invalid_input"


class Unavailable(InspectionError):
    code = "unavailable"
