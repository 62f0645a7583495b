"""The audit log stands below the features that write to it and below witnessing, which
carries it through the exchange: nothing in `migrex.audit` imports them."""

from __future__ import annotations

import ast
from pathlib import Path

import migrex.audit

ABOVE_AUDIT = {"exchange", "witness", "casework", "retention", "ledger", "web", "stats"}


def imported_features(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""] if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else []
            )  # fmt: skip
            for name in names:
                parts = name.split(".")
                if parts[0] == "migrex" and len(parts) > 1:
                    found.setdefault(parts[1], set()).add(path.name)
    return found


def test_the_audit_package_imports_no_feature_above_it() -> None:
    package = Path(migrex.audit.__file__).parent
    above = {f: files for f, files in imported_features(package).items() if f in ABOVE_AUDIT}
    assert above == {}


# The benchmark times the append itself, so it calls it as the queue does.
MAY_APPEND = {"audit/log.py", "audit/pending.py", "bench/audit.py"}


def test_every_feature_writes_the_log_through_the_queue() -> None:
    source = Path(migrex.audit.__file__).parents[1]
    appending = {
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if "append_leaves" in path.read_text(encoding="utf-8")
    }
    assert appending - MAY_APPEND == set()
    assert "audit/pending.py" in appending
