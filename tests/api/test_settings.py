"""Settings that follow one another: the embedded records database lives in the var
directory unless its URL is given, so that a second instance with its own
SHELTERWATCH_VAR_DIR keeps its own records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.processes.cli import main
from api.settings import Settings


def test_the_records_database_follows_the_var_directory(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "site-b", _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == f"sqlite:///{tmp_path}/site-b/shelterwatch.db"
    assert Settings(_env_file=None).database_url == "sqlite:///var/shelterwatch.db"  # type: ignore[call-arg]


def test_a_given_database_url_is_kept(tmp_path: Path) -> None:
    url = "postgresql+psycopg://records@db.example/shelterwatch"
    settings = Settings(database_url=url, var_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == url


def test_a_migration_run_with_its_own_var_directory_makes_its_database_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHELTERWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "elsewhere"))
    assert main(["db", "upgrade"]) == 0
    made = tmp_path / "elsewhere" / "shelterwatch.db"
    with sqlite3.connect(made) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    assert not (tmp_path / "var").exists()
