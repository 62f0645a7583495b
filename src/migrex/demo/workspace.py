"""The demo workspace: two node folders (KZ and AM), their configuration and synthetic data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoNode:
    node_id: str
    authorities: tuple[str, ...]
    port: int


NODES = {
    "KZ": DemoNode("kz-node", ("kz-mia", "kz-mlsp"), 8443),
    "AM": DemoNode("am-node", ("am-police", "am-mcs"), 8444),
}


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

    def create(self, agreements_by_state: dict[str, list[Path]]) -> None:
        """Starts from an empty folder and writes one node.toml per state."""
        if self.root.exists():
            shutil.rmtree(self.root)
        for state, node in NODES.items():
            folder = self.node_dir(state)
            folder.mkdir(parents=True)
            agreements = ", ".join(
                f'"{path.resolve().as_posix()}"' for path in agreements_by_state[state]
            )
            authorities = ", ".join(f'"{a}"' for a in node.authorities)
            self.node_config(state).write_text(
                f"""# Demo node of {state}: SQLite in this folder, listening on loopback only.
[node]
node_id = "{node.node_id}"
state = "{state}"
authorities = [{authorities}]
agreements = [{agreements}]
data_dir = "var"
listen_host = "127.0.0.1"
listen_port = {node.port}
""",
                encoding="utf-8",
            )
