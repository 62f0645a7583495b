"""Exit codes and problem types come from one table, are unique, and are documented."""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import migrex
from migrex.errors import EXIT_CODES, USAGE_EXIT_CODE, MigrexError, error_reference

REFERENCE = Path(__file__).parents[3] / "docs" / "exit-codes.md"

# Not importable on their own: the Alembic environment runs migrations, `__main__` the CLI.
NOT_IMPORTED = ("migrex.migrations", "migrex.__main__")


@pytest.fixture(scope="module")
def errors() -> set[type[MigrexError]]:
    """Every MigrexError class of migrex, after importing every module that may declare one."""
    for module in pkgutil.walk_packages(migrex.__path__, "migrex."):
        if not module.name.startswith(NOT_IMPORTED):
            importlib.import_module(module.name)
    found: set[type[MigrexError]] = set()
    todo = [MigrexError]
    while todo:
        error = todo.pop()
        if error.__module__.startswith("migrex."):
            found.add(error)
        todo.extend(error.__subclasses__())
    return found


def test_exit_codes_are_unique_and_leave_success_and_usage_alone() -> None:
    codes = list(EXIT_CODES.values())
    assert len(codes) == len(set(codes))
    assert not {0, USAGE_EXIT_CODE} & set(codes)


def test_every_listed_name_is_one_error_class(errors: set[type[MigrexError]]) -> None:
    names = [error.__name__ for error in errors]
    assert {name: names.count(name) for name in EXIT_CODES} == dict.fromkeys(EXIT_CODES, 1)


def test_every_error_exits_with_the_code_of_its_nearest_listed_class(
    errors: set[type[MigrexError]],
) -> None:
    for error in errors:
        listed = next(c for c in error.__mro__ if c.__name__ in EXIT_CODES)
        assert error.exit_code == EXIT_CODES[listed.__name__], error


def test_a_class_may_not_number_itself() -> None:
    with pytest.raises(TypeError, match="EXIT_CODES"):

        class Numbered(MigrexError):
            exit_code = 42

    with pytest.raises(TypeError, match="EXIT_CODES"):

        class NotFound(MigrexError):  # a listed name, numbered otherwise
            exit_code = 7


def test_problem_types_are_unique(errors: set[type[MigrexError]]) -> None:
    slugs = [slug for error in errors for slug, _status, _title in error.problem_types()]
    assert sorted(slug for slug in set(slugs) if slugs.count(slug) > 1) == []


def test_the_reference_is_up_to_date(errors: set[type[MigrexError]]) -> None:
    written = error_reference(errors)
    if os.environ.get("MIGREX_WRITE_DOCS"):
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(written, encoding="utf-8")
    assert REFERENCE.read_text(encoding="utf-8") == written, (
        f"{REFERENCE} is out of date: MIGREX_WRITE_DOCS=1 pytest tests/unit/core/test_errors.py"
    )
