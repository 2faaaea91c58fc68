"""Errors of the telemetry package; ``api`` maps them to HTTP statuses.

TelemetryError            (base; stable ``code``)
├── StoreUnavailable      the store cannot be reached now; retry later, spool meanwhile
├── StoreRejected         the store refused the data itself; retrying will not help
├── SpoolFull             the local spool reached its size bound
├── InvalidQuery          a read request asks for something not allowed or too large
├── BrokerAdminUnavailable  the broker's account administration cannot be reached or failed
├── AccountConflict       a broker account of that name exists and is not the sensor's
└── NotFound              no such object (an alert)
"""

from __future__ import annotations


class TelemetryError(Exception):
    code = "telemetry_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class StoreUnavailable(TelemetryError):
    code = "store_unavailable"


class StoreRejected(TelemetryError):
    code = "store_rejected"


class SpoolFull(TelemetryError):
    code = "spool_full"


class InvalidQuery(TelemetryError):
    code = "invalid_query"


class BrokerAdminUnavailable(TelemetryError):
    code = "broker_unavailable"


class AccountConflict(TelemetryError):
    code = "broker_account_conflict"


class NotFound(TelemetryError):
    code = "not_found"
