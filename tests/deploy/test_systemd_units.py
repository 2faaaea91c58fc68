"""The systemd units of deploy/systemd/ pass ``systemd-analyze verify`` without a warning.

The units are verified against a temporary root (``--root``) holding a copy of the host's
own units (for the targets they name), the units under test in /etc/systemd/system and
executables at the paths their ExecStart lines name, so the check covers every key, every
section, the timers' calendar expressions and the units they start, and fails when an
ExecStart names a program that is not there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
HOST_UNITS = Path("/usr/lib/systemd/system")


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None or not HOST_UNITS.is_dir():
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return tool


def unit_root(tmp_path: Path, units: list[Path]) -> Path:
    """A root with the host's units, ``units`` installed, and their executables."""
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    for unit in units:
        shutil.copy(unit, system / unit.name)
        for program in re.findall(r"^ExecStart\w*=[-@:+!]*(/\S+)", unit.read_text(), re.M):
            exe = root / program.lstrip("/")
            exe.parent.mkdir(parents=True, exist_ok=True)
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
    return root


def verify(tool: str, root: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "verify", "--man=no", "--generators=no", f"--root={root}", *names],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def shipped() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in {".service", ".timer"})


def test_every_unit_verifies_cleanly(tmp_path: Path) -> None:
    tool = analyze()
    units = shipped()
    assert {u.name for u in units} >= {
        "shelterwatch-serve.service",
        "shelterwatch-ingest@.service",
        "shelterwatch-tick.service",
        "shelterwatch-tick.timer",
    }
    root = unit_root(tmp_path, units)
    # A template is verified through an instance of it.
    names = [u.name.replace("@.", "@9108.") for u in units]
    result = verify(tool, root, names)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_units_share_one_hardened_service_user() -> None:
    for unit in (u for u in shipped() if u.suffix == ".service"):
        text = unit.read_text()
        for line in (
            "User=shelterwatch",
            "EnvironmentFile=/etc/shelterwatch/shelterwatch.env",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=",
        ):
            assert re.search(f"^{re.escape(line)}$", text, re.M), f"{unit.name}: {line}"
        assert re.search(r"^ReadWritePaths=/var/lib/shelterwatch\b", text, re.M), unit.name
        if "Type=oneshot" not in text:
            assert "Restart=on-failure" in text, unit.name


def test_the_check_catches_a_mistake(tmp_path: Path) -> None:
    """The verification above is not vacuous: an unknown key, or a program missing at its
    ExecStart path, is reported."""
    tool = analyze()
    serve = UNITS / "shelterwatch-serve.service"
    broken = tmp_path / "shelterwatch-serve.service"
    broken.write_text(serve.read_text().replace("PrivateTmp=yes", "PrivateTemp=yes"))
    root = unit_root(tmp_path, [broken])
    result = verify(tool, root, [broken.name])
    assert "Unknown key 'PrivateTemp'" in result.stdout + result.stderr
    (root / "opt/shelterwatch/.venv/bin/shelterwatch").unlink()
    result = verify(tool, root, [broken.name])
    assert result.returncode != 0
    assert "is not executable" in result.stdout + result.stderr
