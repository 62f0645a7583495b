"""The feature list: every entry names something of the right kind, and the root help stays
light because nothing is imported before it is used."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable

import pytest
import typer
from fastapi import APIRouter
from typer.testing import CliRunner

from migrex import features
from migrex.cli import app, feature_command


def test_command_names_are_unique() -> None:
    names = [command.name for command in features.commands()]
    assert len(names) == len(set(names))
    benchmarks = [command.name for command in features.benchmarks()]
    assert len(benchmarks) == len(set(benchmarks))


def test_every_benchmark_entry_names_a_function() -> None:
    for command in features.benchmarks():
        assert not command.group, command
        assert isinstance(features.resolve(command.target), types.FunctionType), command


def test_every_command_entry_names_a_typer_app_or_a_function() -> None:
    for command in features.commands():
        target = features.resolve(command.target)
        expected = typer.Typer if command.group else types.FunctionType
        assert isinstance(target, expected), command
        built = feature_command(command)
        assert (built.name, built.help) == (command.name, command.help)


def test_every_router_entry_names_a_router_and_every_job_a_function() -> None:
    assert all(isinstance(r, APIRouter) for r in features.partner_routers())
    assert all(isinstance(r, APIRouter) for r in features.officer_routers())
    jobs: list[Callable[..., None]] = list(features.jobs())
    assert jobs and all(isinstance(job, types.FunctionType) for job in jobs)
    assert all(isinstance(m, types.ModuleType) for m in features.table_modules())


def test_a_target_names_module_and_attribute() -> None:
    assert features.resolve("migrex.features:FEATURES") is features.FEATURES
    with pytest.raises(ValueError, match="module:attribute"):
        features.resolve("migrex.features")


def test_the_root_help_lists_every_command() -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in features.commands():
        assert command.name in result.output and command.help in result.output


def _loaded_after(work: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of the `heavy` modules a fresh interpreter holds after running `work`."""
    probe = f"import sys\n{work}print(' '.join(n for n in {heavy!r} if n in sys.modules))\n"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_root_help_imports_no_feature() -> None:
    work = (
        "from typer.testing import CliRunner\n"
        "from migrex.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
    )
    heavy = ("pandas", "numpy", "duckdb", "fastapi", "sqlalchemy", "migrex.agreements")
    assert _loaded_after(work, heavy) == []


def test_a_node_starting_loads_no_analysis_engine() -> None:
    # What `migrex serve` loads before it listens: the command, then every feature's
    # routers, jobs, hooks and tables. The linkage encoder's compiled kernels, SciPy (the
    # statistics' optimiser, the channel graph's sparse matrices) and pandas load with the
    # first run, release or SDMX file that needs them.
    work = (
        "import migrex.web.cli\n"
        "from migrex import features\n"
        "for registry in (features.partner_routers, features.officer_routers, features.jobs,\n"
        "                 features.table_modules, features.discard_hooks):\n"
        "    list(registry())\n"
        "features.filing_hooks(); features.sending_hooks()\n"
    )
    heavy = ("numba", "scipy", "pandas", "migrex.linkage.encoder", "migrex.channels.runs")
    assert _loaded_after(work, heavy) == []
