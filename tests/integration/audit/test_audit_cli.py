"""`migrex audit` as an operator runs it: checkpoint, show, prove, verify."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from test_audit_log import entry
from typer.testing import CliRunner

from migrex.audit import (
    AuditError,
    leaf_hash,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    verify_inclusion,
)
from migrex.audit import log as audit_log
from migrex.audit.cli import VERIFY_SOURCES, app
from migrex.audit.cosigners import CosignerKey
from migrex.audit.heads_held import HeldHead
from migrex.audit.merkle import root_at
from migrex.audit.store import SqlNodeStore
from migrex.audit.tables import AUDIT_TABLES, leaves_table
from migrex.db import make_session_factory
from migrex.errors import ConfigurationError, NotFound
from migrex.identity import FileKeyStore

runner = CliRunner()
# Every command checks the node's folder and agreements first (`migrex.checks`).
AGREEMENT = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"
NODE_FOLDER = f'data_dir = "."\nagreements = ["{AGREEMENT.as_posix()}"]\n'


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[Path]:
    """A KZ node whose log holds entries 0-9, with a signing key for its first authority."""
    FileKeyStore(tmp_path / "keys").generate("kz-mia")
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nnode_id = "kz-node"\nstate = "KZ"\n'
        f'{NODE_FOLDER}authorities = ["kz-mia", "kz-mlsp"]\n'
        f'database_url = "{database_url}"\nkey_dir = "keys"\n',
        encoding="utf-8",
    )
    with make_session_factory(engine)() as session:
        audit_log.append_leaves(session, [entry(n) for n in range(10)], datetime.now(UTC))
        session.commit()
    yield path
    with engine.begin() as connection:
        for table in AUDIT_TABLES:
            connection.execute(table.delete())


def audit(config: Path, *args: str) -> tuple[int, str]:
    # The sub-app reads --config from its root context, as it will once mounted.
    result = runner.invoke(app, list(args), obj={"config": config})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_checkpoint_then_show(config: Path) -> None:
    code, note = audit(config, "checkpoint")
    assert code == 0
    assert note.startswith("migrex.kz/kz-node/audit\n10\n")
    code, shown = audit(config, "show")
    assert code == 0
    assert "10 leaves" in shown and "no cosignatures yet" in shown


def test_a_proof_verifies_with_nothing_but_what_it_prints(config: Path) -> None:
    code, printed = audit(config, "prove", entry(4).message_id or "")
    assert code == 0
    proof = json.loads(printed)
    name, key = parse_verifier_key(proof["verifier_key"])
    checkpoint = parse_checkpoint(open_note(proof["checkpoint"], {name: key}).text)
    [found] = proof["entries"]
    data = found["leaf_data"].encode()
    assert found["leaf_index"] == 4 and checkpoint.size == proof["tree_size"] == 10
    assert base64.b64decode(found["leaf_hash"]) == leaf_hash(data)
    hashes = [base64.b64decode(node) for node in found["inclusion_proof"]]
    assert verify_inclusion(leaf_hash(data), 4, 10, hashes, checkpoint.root_hash)


def test_proving_an_unknown_message_is_not_found(config: Path) -> None:
    with pytest.raises(NotFound):
        audit(config, "prove", entry(99).message_id or "")


def test_verify_passes_then_names_the_edited_position(config: Path, engine: Engine) -> None:
    audit(config, "checkpoint")
    code, printed = audit(config, "verify")
    assert code == 0 and "intact" in printed
    with engine.begin() as connection:
        connection.execute(
            leaves_table.update()
            .where(leaves_table.c.position == 6)
            .values(data=entry(66).encode(), message_id=entry(66).message_id)
        )
    code, printed = audit(config, "verify")
    assert code == AuditError.exit_code
    assert "leaf-altered 6:" in printed and "NOT intact" in printed
    code, printed = audit(config, "verify", "--json")
    report = json.loads(printed)
    assert code == 10 and not report["ok"]
    assert {(p["kind"], p["position"]) for p in report["problems"]} == {
        ("leaf-altered", 6),
        ("checkpoint", 10),
    }


class HeldBy:
    """`VerifySources` holding the given heads of our log and knowing no witness keys."""

    def __init__(self, *heads: HeldHead) -> None:
        self.heads = list(heads)

    def cosigner_keys(self, node: object) -> dict[str, list[CosignerKey]]:
        return {}

    def held_heads(self, node: object) -> list[HeldHead]:
        return self.heads


def verify_json(config: Path, sources: HeldBy) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, ["verify", "--with-partner", "--json"],
        obj={"config": config, VERIFY_SOURCES: sources},
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


def test_verify_with_partner_reports_rollback_and_fork(config: Path, engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        root_at_6 = root_at(SqlNodeStore(session), 6)
    code, report = verify_json(config, HeldBy(HeldHead(6, root_at_6, "a cosigned checkpoint")))
    assert code == 0 and report["ok"] and report["partner_heads"] == 1
    code, report = verify_json(
        config,
        HeldBy(HeldHead(12, root_at_6, "a receipt"), HeldHead(6, b"\x01" * 32, "a checkpoint")),
    )
    assert code == AuditError.exit_code and not report["ok"]
    assert {(p["kind"], p["position"]) for p in report["problems"]} == {
        ("rollback", 12),
        ("fork", 6),
    }


def test_verify_with_partner_needs_a_way_to_the_partners(config: Path) -> None:
    with pytest.raises(ConfigurationError):
        audit(config, "verify", "--with-partner")
