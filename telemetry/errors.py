"""The errors of the telemetry package: every failure it expects to meet, as one tree.

Each class has a stable machine-readable ``code``; ``api`` chooses the HTTP status of each in
one place (``api/http/errors.py``), and the ``shelterwatch`` command prints the message of
any of them as ``error: …`` with exit status 1.

class (HTTP status, code)
TelemetryError              503  telemetry_error          base of the tree
├── StoreUnavailable        503  store_unavailable        the reading store cannot be reached
│                                                         now; retry later, spool meanwhile
├── StoreRejected           503  store_rejected           the store refused the data itself;
│                                                         retrying will not help
├── SpoolFull               503  spool_full               the local spool reached its bound
├── InvalidQuery            422  invalid_query            a read request asks for something
│                                                         not allowed or too large
├── InvalidSetting          422  invalid_setting          a broker URL, account name, bucket
│                                                         or similar value cannot be used
│                                                         (also a ``ValueError``)
├── BrokerAdminUnavailable  503  broker_unavailable       the broker's account administration
│                                                         cannot be reached or failed
├── BrokerUnreachable       503  broker_unreachable       an MQTT broker cannot be reached or
│                                                         refused the login
├── AccountConflict         409  broker_account_conflict  a broker account of that name exists
│                                                         and is not the sensor's
└── NotFound                404  not_found                no such object (an alert)

``inspection.errors`` is the same shape for the register and inspections; the two packages
never import each other, so each keeps its own base.
"""

from __future__ import annotations

from typing import Any


class TelemetryError(Exception):
    """Base of the tree; ``code`` is stable and machine-readable, ``details`` optional data
    for the caller."""

    code = "telemetry_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class StoreUnavailable(TelemetryError):
    code = "store_unavailable"


class StoreRejected(TelemetryError):
    code = "store_rejected"


class SpoolFull(TelemetryError):
    code = "spool_full"


class InvalidQuery(TelemetryError):
    code = "invalid_query"


class InvalidSetting(TelemetryError, ValueError):
    """A value given to telemetry (a broker URL, a system account's name) that cannot be
    used; a ``ValueError`` too, so settings validation reports it as a field error."""

    code = "invalid_setting"


class BrokerAdminUnavailable(TelemetryError):
    code = "broker_unavailable"


class BrokerUnreachable(TelemetryError):
    code = "broker_unreachable"


class AccountConflict(TelemetryError):
    code = "broker_account_conflict"


class NotFound(TelemetryError):
    code = "not_found"
