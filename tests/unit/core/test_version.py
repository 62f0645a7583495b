"""`migrex --version` prints the installed version and exits 0, without importing a feature."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

from typer.testing import CliRunner

from migrex.cli import app


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"migrex {version('migrex')}"


def test_version_imports_no_feature() -> None:
    probe = (
        "import json, sys; sys.argv = ['migrex', '--version']\n"
        "from migrex.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps([m for m in sys.modules if m.count('.') == 1 and m[:7] == 'migrex.']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert loaded <= {"migrex.cli", "migrex.features", "migrex.console", "migrex.errors"}, loaded
