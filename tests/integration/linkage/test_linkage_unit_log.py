"""A linkage unit's node keeps its own audit log and signs its checkpoints, but sends them to
no one: no partner takes a message from a unit, so a round of its checkpoint job does
nothing and fails nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from linkage_unit_steps import unit_node
from migrex.exchange.trust import load_trust
from migrex.witness.jobs import checkpoint_round
from migrex.witness.node import witnessing_node


def test_a_units_checkpoint_round_sends_nothing_and_fails_nothing(tmp_path: Path) -> None:
    unit = unit_node(tmp_path)
    try:
        trust = load_trust(unit.settings, unit.agreements)
        witnessing = witnessing_node(unit, trust)
        assert witnessing.agreements == {}
        assert checkpoint_round(unit, trust, witnessing, datetime.now(UTC)) == 0
    finally:
        unit.close()
