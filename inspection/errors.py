"""The errors of the inspection package: every failure it expects to meet, as one tree.

Each class has a stable machine-readable ``code`` (a raise may name a more precise one, such
as ``shelter_not_found`` or ``evidence_required``) and optional ``details``; ``api`` chooses
the HTTP status of each class in one place (``api/http/errors.py``), and the
``shelterwatch`` command prints the message of any of them as ``error: …`` with exit
status 1.

class (HTTP status, default code)
InspectionError       400  inspection_error  base of the tree
├── NotFound          404  not_found         the thing does not exist, or the caller may not
│                                            know it does
├── Forbidden         403  forbidden         the caller may see it but not do this
├── Conflict          409  conflict          it exists already, or its state forbids the
│                                            transition
├── InvalidInput      422  invalid_input     the request (or a file such as the policy file)
│                                            is well-formed but breaks a rule
└── Unavailable       503  unavailable       the server lacks something it needs (e.g. the
                                             font of PDF documents)

``telemetry.errors`` is the same shape for readings, stores and brokers; the two packages
never import each other, so each keeps its own base.
"""

from __future__ import annotations

from typing import Any


class InspectionError(Exception):
    """Base of the tree; ``code`` is stable and machine-readable, ``details`` optional data
    for the caller."""

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
