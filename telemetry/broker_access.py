"""The embedded broker's accounts, and the sensors' credentials issued on it.

`AccessTable` holds two kinds of accounts (`telemetry.access.Account`):

* the system's own (ingester, platform, simulator), given at construction and never stored;
* the sensors', kept in a JSON file (user name, role, SHA-256 of the password, client id,
  topic rules; never a password in clear) so that they survive restarts and so that every
  process of one installation sees the same table: ``shelterwatch serve`` issues a sensor's
  account, the process running the embedded broker admits it.

A change is written under an exclusive ``flock`` on ``<file>.lock`` (read, change, write to a
temporary file, fsync, rename), so concurrent writers never lose each other's changes, and
takes effect at once in the process that made it. Other processes see it when they next
compare the file's identity, size and modification time with what they loaded: at every
login, and every time :meth:`AccessTable.drain_changed` is asked which accounts changed or
went (the embedded broker asks twice a second and drops those accounts' connections). So a
revoked or moved sensor issued by another process is refused at its next login at once and
loses its connection and its old rights within half a second. A file that cannot be read or
parsed leaves no sensor admitted (logged), never the previous table.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from telemetry.access import (
    Account,
    AccountRole,
    Acl,
    AclKind,
    is_reserved,
    new_password,
    sensor_account,
    telemetry_topic,
)
from telemetry.errors import AccountConflict
from telemetry.ports import DeviceLogin

log = logging.getLogger(__name__)

FILE_VERSION: Final = 1
_Stamp = tuple[int, int, int]


class AccessTable:
    """Accounts of the embedded broker; thread-safe."""

    def __init__(self, path: Path, service_accounts: Sequence[Account] = ()) -> None:
        self.path = path
        self._service = {a.username: a for a in service_accounts}
        self._devices: dict[str, Account] = {}
        self._stamp: _Stamp | None = None
        self._changed: set[str] = set()
        self._lock = threading.Lock()
        self.refresh()

    # -- reading ----------------------------------------------------------------------------
    def account(self, username: str | None, *, fresh: bool = True) -> Account | None:
        """``fresh``: look at the file first (a login); without, the table as last read
        (each packet of a connection; the broker refreshes it every ``ACCESS_POLL_S``)."""
        if username is None:
            return None
        if fresh:
            self.refresh()
        with self._lock:
            return self._service.get(username) or self._devices.get(username)

    def refresh(self) -> None:
        """Reload the sensors' accounts if the file changed since it was read."""
        stamp = self._file_stamp()
        with self._lock:
            if stamp == self._stamp:
                return
        devices = self._read() if stamp is not None else {}
        with self._lock:
            self._replace(devices, stamp)

    def drain_changed(self) -> set[str]:
        """User names whose account changed or went since the last call (not new ones)."""
        self.refresh()
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    # -- writing ----------------------------------------------------------------------------
    def put(self, account: Account) -> None:
        """Add or replace a sensor's account (persisted before this returns)."""
        if account.role is not AccountRole.SENSOR or account.username in self._service:
            raise AccountConflict(f"{account.username!r} is a system account, not a sensor's")
        with self._exclusive():
            devices = self._read() if self.path.exists() else {}
            devices[account.username] = account
            self._write(devices)

    def remove(self, username: str) -> None:
        with self._exclusive():
            devices = self._read() if self.path.exists() else {}
            if devices.pop(username, None) is not None:
                self._write(devices)

    # -- file -------------------------------------------------------------------------------
    def _file_stamp(self) -> _Stamp | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _replace(self, devices: dict[str, Account], stamp: _Stamp | None) -> None:
        """Under the lock: take ``devices`` as the table, noting which accounts changed."""
        before = self._devices
        # A new account has no connection to drop; a changed or removed one may.
        self._changed.update(name for name, old in before.items() if devices.get(name) != old)
        self._devices = devices
        self._stamp = stamp

    def _read(self) -> dict[str, Account]:
        try:
            doc = json.loads(self.path.read_bytes())
            if doc.get("version") != FILE_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {FILE_VERSION}")
            return {a.username: a for a in map(_from_json, doc["accounts"])}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("MQTT account file %s unreadable (%s): no sensor is admitted", self.path, exc)
            return {}

    def _write(self, devices: dict[str, Account]) -> None:
        """Under the file lock: replace the file atomically, then the table in memory."""
        doc = {"version": FILE_VERSION, "accounts": [_to_json(a) for a in devices.values()]}
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(doc, indent=1, sort_keys=True).encode())
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
        stamp = self._file_stamp()
        with self._lock:
            self._replace(devices, stamp)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f"{self.path.name}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def _to_json(account: Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "role": account.role.value,
        "password_sha256": account.password_sha256,
        "client_id": account.client_id,
        "acls": [{"kind": a.kind.value, "topic": a.topic} for a in account.acls],
    }


def _from_json(raw: dict[str, Any]) -> Account:
    return Account(
        username=str(raw["username"]),
        role=AccountRole(raw["role"]),
        password_sha256=str(raw["password_sha256"]),
        acls=tuple(Acl(AclKind(a["kind"]), str(a["topic"])) for a in raw["acls"]),
        client_id=None if raw["client_id"] is None else str(raw["client_id"]),
    )


class EmbeddedCredentials:
    """`DeviceCredentials` on the embedded broker's `AccessTable`."""

    def __init__(self, table: AccessTable) -> None:
        self.table = table

    def issue(self, sensor_id: str, shelter_code: str) -> DeviceLogin:
        if is_reserved(sensor_id):
            raise AccountConflict(f"{sensor_id!r} is a name kept for the system's accounts")
        password = new_password()
        self.table.put(sensor_account(sensor_id, shelter_code, password))
        return DeviceLogin(sensor_id, password, sensor_id, telemetry_topic(shelter_code, sensor_id))

    def revoke(self, sensor_id: str) -> None:
        self.table.remove(sensor_id)
