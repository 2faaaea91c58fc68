"""The directory file store: content-addressed, private, written whole or not at all."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from inspection.files import DirectoryFileStore, FileMissing


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_put_and_open(tmp_path: Path) -> None:
    store = DirectoryFileStore(tmp_path / "files")
    key = store.put(b"photo bytes")
    assert key == hashlib.sha256(b"photo bytes").hexdigest()
    with store.open(key) as f:
        assert f.read() == b"photo bytes"
    assert store.put(b"photo bytes") == key  # the same bytes: the same file
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [key]


def test_files_and_directories_are_private(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    key = DirectoryFileStore(root).put(b"x")
    path = root / key[:2] / key
    assert (_mode(root), _mode(path.parent), _mode(path)) == (0o700, 0o700, 0o600)


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "0" * 63, "", "0" * 64 + "/x"])
def test_keys_never_name_paths(tmp_path: Path, key: str) -> None:
    with pytest.raises(FileMissing):
        DirectoryFileStore(tmp_path).open(key)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileMissing):
        DirectoryFileStore(tmp_path).open("0" * 64)


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DirectoryFileStore(tmp_path)

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("inspection.files.os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"photo")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
