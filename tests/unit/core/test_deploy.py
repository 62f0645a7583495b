"""The systemd units in deploy/systemd are valid for systemd itself (`systemd-analyze verify`),
start the commands that exist, and stop the node with SIGTERM."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[3] / "deploy" / "systemd"
INSTALLED = "/opt/migrex/bin/migrex"


def units() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(UNITS.glob("*.service"))}


def test_there_are_units_for_serve_and_relay() -> None:
    found = units()
    assert f"ExecStart={INSTALLED} serve" in found["migrex-serve.service"]
    assert f"ExecStart={INSTALLED} relay --relay-id relay-%i" in found["migrex-relay@.service"]
    for text in found.values():
        assert "KillSignal=SIGTERM" in text and "MIGREX_CONFIG=" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_units_without_a_warning(tmp_path: Path) -> None:
    # The units name the installed path; here they start this environment's migrex, so that
    # systemd checks the command exists too.
    migrex = Path(sys.executable).parent / "migrex"
    assert migrex.exists(), "migrex is not installed in this environment"
    paths = []
    for name, text in units().items():
        instance = name.replace("@.service", "@1.service")
        path = tmp_path / instance
        path.write_text(text.replace(INSTALLED, str(migrex)), encoding="utf-8")
        paths.append(str(path))
    done = subprocess.run(
        ["systemd-analyze", "verify", *paths],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # verify exits 0 on unknown keys and bad values, only warning: any line about our units fails.
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(tmp_path) in line]
    assert done.returncode == 0 and not ours, done.stdout + done.stderr
