"""Hostile agreement files (issue 11, item 9): a 616 KB file with a 300,000-level dotted key
took 23 GB, and 1,000 levels crashed the loader with RecursionError. Each is now a clear
AgreementInvalid, in bounded time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memory import peak_growth
from migrex.agreements.loader import load_agreement, loads_agreement, parse_agreement
from migrex.errors import AgreementInvalid

REAL = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (".".join(["a"] * 300_000) + " = 1\n", "dotted parts"),
        (".".join(["a"] * 1000) + " = 1\n", "dotted parts"),
        ("[" + ".".join(['"a"'] * 1000) + "]\nx = 1\n", "dotted parts"),
        ("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
        ("x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n", "nested too deeply"),
        ("x = " + "[" * 100 + "]" * 100 + "\n", "nested more than"),
        ("".join(f"k{n} = [{n}]\n" for n in range(60_000)), "more than 100000 values"),
    ],
    ids=[
        "dotted-300000",
        "dotted-1000",
        "header-1000",
        "arrays-1000",
        "inline-1000",
        "arrays-100",
        "many-values",
    ],
)
def test_a_hostile_file_is_a_clear_error_in_bounded_time_and_memory(text: str, reason: str) -> None:
    started = time.monotonic()
    with peak_growth() as growth, pytest.raises(AgreementInvalid) as refused:
        loads_agreement(text.encode())
    assert time.monotonic() - started < 5
    assert growth[0] < 200, growth
    assert any(reason in problem.reason for problem in refused.value.problems), refused.value


def test_a_deep_document_from_elsewhere_is_refused_before_it_is_walked() -> None:
    document: dict[str, object] = {}
    inner = document
    for _ in range(5000):  # deeper than Python's recursion limit
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    with pytest.raises(AgreementInvalid, match="invalid agreement"):
        parse_agreement(document)


def test_the_real_agreement_still_loads() -> None:
    assert load_agreement(REAL).id == "kz-am-2024"
