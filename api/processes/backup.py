"""``shelterwatch backup DIR`` and ``shelterwatch restore BACKUP``: every store of one
deployment into one timestamped directory, and back.

A backup is ``DIR/shelterwatch-<UTC time>/`` holding

- ``postgres.dump``: the records database (``SHELTERWATCH_DATABASE_URL``), ``pg_dump -Fc``;
- ``influx/``: the readings database (the database part of ``SHELTERWATCH_INFLUX_BUCKET``),
  ``influxd backup -portable`` over InfluxDB's meta/RPC port (``--influx-rpc``, default
  ``127.0.0.1:8088``, influxd's top-level ``bind-address``); absent when readings are kept in
  the records database (``SHELTERWATCH_INFLUX_URL`` unset);
- ``files.tar``: the file store of photos and evidence (``SHELTERWATCH_FILES_DIR``);
- ``manifest.json``, written last: what was backed up from where, the Alembic revision, and
  the size and SHA-256 of every file. A directory without it is an unfinished backup.

The records database is dumped before the file store is archived: files are written before the
rows that name them, so every file a dumped row names is in the archive.

Restore checks every checksum, then refuses a target that holds data (a records database with
tables, a readings database with measurements, a non-empty file store) unless ``--force``,
which drops that database or empties that directory first. Restore with ``serve``, ``ingest``
and ``tick`` stopped. The tools come from ``PATH``: ``pg_dump`` and ``pg_restore`` of the
server's major version or newer (Debian: ``postgresql-client``), and ``influxd`` (Debian:
``influxdb``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from api.processes.errors import CommandError
from api.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "postgres.dump"
INFLUX_DIR = "influx"
FILES_TAR = "files.tar"
DEFAULT_INFLUX_RPC = "127.0.0.1:8088"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


# ------------------------------------------------------------------ targets


@dataclass(frozen=True)
class Postgres:
    """The records database, as libpq sees it."""

    url: URL

    @classmethod
    def from_settings(cls, settings: Settings) -> Postgres:
        url = make_url(settings.database_url)
        if url.get_backend_name() != "postgresql" or not url.database:
            raise BackupError(
                "backup and restore need PostgreSQL (SHELTERWATCH_DATABASE_URL); the embedded "
                "SQLite file is copied with the process stopped"
            )
        return cls(url)

    @property
    def name(self) -> str:
        return str(self.url.database)

    def conninfo(self, database: str | None = None) -> str:
        """A libpq connection string without the password (that goes in the environment)."""
        parts: dict[str, Any] = {
            "host": self.url.host,
            "port": self.url.port,
            "user": self.url.username,
            "dbname": database or self.name,
            **dict(self.url.query),
        }
        return " ".join(f"{key}={_quote(str(value))}" for key, value in parts.items() if value)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.url.password is not None:
            env["PGPASSWORD"] = str(self.url.password)
        return env

    def admin_url(self) -> URL:
        """The same server's maintenance database, for CREATE and DROP DATABASE."""
        return self.url.set(drivername="postgresql+psycopg", database="postgres")

    def exists(self) -> bool:
        with _autocommit(self.admin_url()) as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": self.name}
            ).first()
        return found is not None

    def table_count(self) -> int:
        url = self.url.set(drivername="postgresql+psycopg")
        with _autocommit(url) as conn:
            count = conn.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%'"
                )
            ).scalar_one()
        return int(count)

    def revision(self) -> str | None:
        url = self.url.set(drivername="postgresql+psycopg")
        with _autocommit(url) as conn:
            present = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar_one()
            if present is None:
                return None
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None

    def drop(self) -> None:
        with _autocommit(self.admin_url()) as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_ident(self.name)} WITH (FORCE)"))

    def create(self) -> None:
        with _autocommit(self.admin_url()) as conn:
            conn.execute(text(f"CREATE DATABASE {_ident(self.name)}"))


@dataclass(frozen=True)
class Influx:
    """The readings database of an InfluxDB 1.x: its HTTP API for checks, its RPC port for
    the backup tool."""

    http_url: str
    token: str
    database: str
    rpc: str

    @classmethod
    def from_settings(cls, settings: Settings, rpc: str) -> Influx | None:
        if not settings.influx_url:
            return None
        database = settings.influx_bucket.split("/", 1)[0]
        return cls(
            settings.influx_url.rstrip("/"), settings.influx_token.get_secret_value(), database, rpc
        )

    def _query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        auth = tuple(self.token.split(":", 1)) if ":" in self.token else None
        try:
            response = httpx.request(
                "POST" if post else "GET",
                f"{self.http_url}/query",
                params={"q": q, "db": self.database},
                auth=auth,  # type: ignore[arg-type]
                timeout=30,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BackupError(f"InfluxDB at {self.http_url}: {exc}") from exc
        results: list[dict[str, Any]] = response.json()["results"]
        for result in results:
            if "error" in result:
                raise BackupError(f"InfluxDB: {q}: {result['error']}")
        return results

    def exists(self) -> bool:
        [result] = self._query("SHOW DATABASES")
        names = {row[0] for series in result.get("series", []) for row in series["values"]}
        return self.database in names

    def measurement_count(self) -> int:
        [result] = self._query("SHOW MEASUREMENTS")
        return sum(len(series.get("values", [])) for series in result.get("series", []))

    def drop(self) -> None:
        self._query(f"DROP DATABASE {_influx_ident(self.database)}", post=True)


# ------------------------------------------------------------------ backup


def backup(settings: Settings, parent: Path, *, influx_rpc: str = DEFAULT_INFLUX_RPC) -> Path:
    """Back every store up into a new directory under ``parent``; returns it."""
    pg = Postgres.from_settings(settings)
    influx = Influx.from_settings(settings, influx_rpc)
    files_dir = settings.resolved_files_dir()
    created = datetime.now(UTC)
    parent.mkdir(parents=True, exist_ok=True)
    dest = parent / f"shelterwatch-{created:%Y%m%dT%H%M%SZ}"
    try:
        dest.mkdir(mode=0o700)
    except FileExistsError as exc:
        raise BackupError(f"{dest} exists already; wait a second and run again") from exc
    try:
        _run(
            ["pg_dump", "--format=custom", f"--file={dest / PG_DUMP}", pg.conninfo()], env=pg.env()
        )
        influx_part: dict[str, Any] | None = None
        if influx is not None:
            _run(
                [
                    "influxd",
                    "backup",
                    "-portable",
                    "-host",
                    influx.rpc,
                    "-db",
                    influx.database,
                    str(dest / INFLUX_DIR),
                ]
            )
            influx_part = {"database": influx.database, "dir": INFLUX_DIR}
        count = _archive(files_dir, dest / FILES_TAR)
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat(),
            "postgres": {"database": pg.name, "file": PG_DUMP, "revision": pg.revision()},
            "influx": influx_part,
            "files": {"dir": str(files_dir), "file": FILES_TAR, "count": count},
            "checksums": {
                str(path.relative_to(dest)): {"size": path.stat().st_size, "sha256": _sha256(path)}
                for path in sorted(dest.rglob("*"))
                if path.is_file()
            },
        }
        tmp = dest / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(dest / MANIFEST)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def _archive(files_dir: Path, tar_path: Path) -> int:
    count = 0
    with tarfile.open(tar_path, "w") as tar:
        if files_dir.is_dir():
            for path in sorted(files_dir.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(files_dir)), recursive=False)
                count += path.is_file()
    return count


# ------------------------------------------------------------------ restore


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of the backup in ``source``, every file's checksum checked."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or an unfinished one")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    for name, expected in manifest["checksums"].items():
        file = source / name
        if not file.is_file():
            raise BackupError(f"{file} is missing")
        if file.stat().st_size != expected["size"] or _sha256(file) != expected["sha256"]:
            raise BackupError(f"{file} does not match its checksum in {MANIFEST}")
    return manifest


def restore(
    settings: Settings,
    source: Path,
    *,
    force: bool = False,
    influx_rpc: str = DEFAULT_INFLUX_RPC,
) -> list[str]:
    """Restore the backup in ``source`` into the stores ``settings`` name; returns what was
    done, one line per store."""
    manifest = read_manifest(source)
    pg = Postgres.from_settings(settings)
    influx = Influx.from_settings(settings, influx_rpc)
    files_dir = settings.resolved_files_dir()
    if manifest["influx"] is not None and influx is None:
        raise BackupError("the backup holds InfluxDB readings but SHELTERWATCH_INFLUX_URL is unset")

    pg_exists = pg.exists()
    influx_exists = influx is not None and manifest["influx"] is not None and influx.exists()
    occupied = []
    if pg_exists and (tables := pg.table_count()):
        occupied.append(f"PostgreSQL database {pg.name} has {tables} tables")
    if influx_exists and influx is not None and (measurements := influx.measurement_count()):
        occupied.append(f"InfluxDB database {influx.database} has {measurements} measurements")
    if files_dir.is_dir() and any(files_dir.iterdir()):
        occupied.append(f"file store {files_dir} is not empty")
    if occupied and not force:
        raise BackupError(
            "refusing to overwrite data (" + "; ".join(occupied) + "); restore with --force "
            "to replace it"
        )

    done = []
    if pg_exists and force:
        pg.drop()
        pg_exists = False
    if not pg_exists:
        pg.create()
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            f"--dbname={pg.conninfo()}",
            str(source / manifest["postgres"]["file"]),
        ],
        env=pg.env(),
    )
    done.append(f"postgresql: {pg.name} restored (revision {manifest['postgres']['revision']})")

    if manifest["influx"] is not None and influx is not None:
        if influx_exists:
            influx.drop()  # the restore tool creates the database and its retention policies
        _run(
            [
                "influxd",
                "restore",
                "-portable",
                "-host",
                influx.rpc,
                "-db",
                manifest["influx"]["database"],
                "-newdb",
                influx.database,
                str(source / manifest["influx"]["dir"]),
            ]
        )
        done.append(f"influxdb: {influx.database} restored")

    if files_dir.is_dir():
        for child in files_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(source / manifest["files"]["file"]) as tar:
        tar.extractall(files_dir, filter="data")
    done.append(f"files: {manifest['files']['count']} restored into {files_dir}")
    return done


# ------------------------------------------------------------------ helpers


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} not found on PATH")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(
            f"{command[0]} {command[1]} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _influx_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _autocommit:
    """A short autocommit connection to ``url``, its engine disposed afterwards."""

    def __init__(self, url: URL) -> None:
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def __enter__(self) -> Any:
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
        self.engine.dispose()


# ------------------------------------------------------------------ commands


def _backup_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        dest = backup(settings, Path(args.dir), influx_rpc=args.influx_rpc)
    except BackupError as exc:
        raise CommandError(f"backup failed: {exc}") from exc
    print(dest)
    return 0


def _restore_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        done = restore(settings, Path(args.backup), force=args.force, influx_rpc=args.influx_rpc)
    except BackupError as exc:
        raise CommandError(f"restore failed: {exc}") from exc
    print("\n".join(done))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rpc_help = f"influxd's meta/RPC address (default {DEFAULT_INFLUX_RPC})"
    b = sub.add_parser("backup", help="back up the records, readings and files into DIR")
    b.add_argument("dir", help="a new shelterwatch-<UTC time> directory is made in it")
    b.add_argument("--influx-rpc", default=DEFAULT_INFLUX_RPC, help=rpc_help)
    b.set_defaults(func=_backup_command)
    r = sub.add_parser("restore", help="restore a backup made by `shelterwatch backup`")
    r.add_argument("backup", help="the shelterwatch-<UTC time> directory")
    r.add_argument("--force", action="store_true", help="replace data already in the targets")
    r.add_argument("--influx-rpc", default=DEFAULT_INFLUX_RPC, help=rpc_help)
    r.set_defaults(func=_restore_command)
