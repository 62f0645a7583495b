"""The demo workspace: two node folders (KZ and AM) with their configuration, trust material
(a demo PKI, keys, signed directories) and synthetic data; tests may add a third state (KG)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from migrex.directory.demo import (
    DemoNodeSpec,
    DemoTrust,
    DemoUnitSpec,
    bootstrap_demo,
    node_config,
)

DEFAULT_PORTS = {"KZ": 8443, "AM": 8444}
AUTHORITIES = {"KZ": ("kz-mia", "kz-mlsp"), "AM": ("am-police", "am-mcs")}
# Kyrgyzstan's authorities in the hypothetical kz-kg-example agreement: not part of the demo's
# scenario, but a workspace can hold a KG node so that cross-agreement paths are tried for real.
THIRD_STATE_AUTHORITIES = {"KG": ("kg-mvd", "kg-migration")}
DEMO_UNIT_FOLDER = "lu"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def synth_dir(self) -> Path:
        return self.root / "synth"

    def node_dir(self, state: str) -> Path:
        return self.root / state.lower()

    def node_config(self, state: str) -> Path:
        return self.node_dir(state) / "node.toml"

    def unit_config(self, unit: DemoUnitSpec | None = None) -> Path:
        """The configuration of a linkage unit's node (the demo's, by default)."""
        return self.root / (unit.folder if unit else DEMO_UNIT_FOLDER) / "node.toml"

    def create(
        self,
        agreements_by_state: Mapping[str, Sequence[Path]],
        directories: Mapping[str, tuple[str, ...]],
        ports: Mapping[str, int] = DEFAULT_PORTS,
        database_urls: Mapping[str, str] | None = None,
        *,
        operator_ports: Mapping[str, int] | None = None,
        officer_ports: Mapping[str, int] | None = None,
        units: Sequence[DemoUnitSpec] = (),
        agreement_files: Mapping[str, Path] | None = None,
    ) -> DemoTrust:
        """Starts from an empty folder: trust material and one node.toml per state.

        `directories` maps each agreement that gets a signed directory to its parties;
        `operator_ports` and `officer_ports`, where given, open each node's operator
        listener and its officers' API (over TLS). Each of `units` is a linkage unit's node
        for its agreement, whose file `agreement_files` gives.
        """
        if self.root.exists():
            shutil.rmtree(self.root)
        hosted = {**AUTHORITIES, **THIRD_STATE_AUTHORITIES}
        specs = [
            DemoNodeSpec(
                state, f"{state.lower()}-node", hosted[state], ports[state],
                operator_port=(operator_ports or {}).get(state),
                officer_port=(officer_ports or {}).get(state),
            )
            for state in agreements_by_state
        ]  # fmt: skip
        trust = bootstrap_demo(self.root, specs, directories, datetime.now(UTC), units)
        for spec in specs:
            database = (database_urls or {}).get(spec.state, "")
            self.node_config(spec.state).write_text(
                node_config(spec, agreements_by_state[spec.state], database), encoding="utf-8"
            )
        for unit in units:
            files = [(agreement_files or {})[unit.agreement_id]]
            self.unit_config(unit).write_text(node_config(unit.node, files), encoding="utf-8")
        return trust
