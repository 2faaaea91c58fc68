"""Where the bytes of photos and evidence live: a content-addressed file store.

The database keeps each attachment's metadata and the key of its file; the bytes live behind
the :class:`FileStore` port. A key is the SHA-256 (hex) of the bytes, so storing the same bytes
twice keeps one file, a write that is repeated (a retried request) changes nothing, and a key
can never name a path outside the store.

:class:`DirectoryFileStore` keeps files under one directory (``SHELTERWATCH_VAR_DIR/files`` by
default): ``<root>/<key[:2]>/<key>``, directories 0700 and files 0600, each written to a
temporary file in the same directory, flushed to disk and renamed into place, so a reader
never sees half a file. Several processes may share the directory.

A file whose transaction then rolls back stays in the store unreferenced (it costs space, never
correctness); the same bytes stored again reuse it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from inspection.errors import NotFound

_KEY = re.compile(r"[0-9a-f]{64}")


class FileMissing(NotFound):
    """A key the store does not hold."""

    code = "file_missing"


def key_of(data: bytes) -> str:
    """The key under which ``data`` is stored."""
    return hashlib.sha256(data).hexdigest()


class FileStore(Protocol):
    """Keeps bytes under their SHA-256; safe to share between threads."""

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and answer its key; storing the same bytes again is a no-op."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes for reading; :class:`FileMissing` if there are none."""
        ...


class DirectoryFileStore:
    """A :class:`FileStore` on a local (or shared) directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise FileMissing(f"no file {key!r}")
        return self.root / key[:2] / key

    def _directory(self, path: Path) -> None:
        for directory in (self.root, path):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if directory.stat().st_mode & 0o077:
                directory.chmod(0o700)

    def put(self, data: bytes) -> str:
        key = key_of(data)
        path = self._path(key)
        if path.exists():
            return key
        self._directory(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")  # created 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_directory(path.parent)
        return key

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise FileMissing(f"no file {key}") from exc


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
