"""The failures the ``shelterwatch`` command expects, and the one line it prints for each.

A command that fails for a reason outside the program prints ``error: …`` on standard error
(no traceback) and exits with status 1:

- an error of the domain packages (``inspection.errors``, ``telemetry.errors``: a user that
  exists already, an unreachable broker or broker administration, a malformed MQTT URL, an
  unreadable or invalid policy file, …);
- input that breaks the rules of a schema (pydantic's ``ValidationError``);
- :class:`CommandError`: what a command needs is missing or unusable (a setting it requires,
  a database URL SQLAlchemy cannot use);
- a database that does not answer (SQLAlchemy's ``OperationalError``, ``InterfaceError``);
- a file or a connection the operating system refuses (``OSError``).

Settings the process cannot start with print ``configuration error:`` and exit with status 2,
as do arguments ``argparse`` refuses. Anything else is a fault of the program and keeps its
traceback.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from inspection.errors import InspectionError
from telemetry.errors import TelemetryError


class CommandError(Exception):
    """A command cannot run as asked: what it needs is missing or unusable."""


EXPECTED: tuple[type[BaseException], ...] = (
    CommandError,
    InspectionError,
    TelemetryError,
    ValidationError,
    OperationalError,
    InterfaceError,
    OSError,
)
"""The failures the command reports as one line instead of a traceback."""


def explain(exc: BaseException) -> str:
    """One line (or a few, for a list of invalid fields) saying what went wrong."""
    if isinstance(exc, InspectionError | TelemetryError):
        return exc.message
    if isinstance(exc, OperationalError | InterfaceError):
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else "no answer"
        return f"the database is not answering: {reason}"
    return str(exc)
