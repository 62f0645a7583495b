"""A node process that does not start says why: the benchmark, the demo and the tests that
start nodes quote the end of its log instead of pointing at a file in a folder they delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrex.errors import MigrexError
from migrex.exchange.processes import NodeDidNotStart, NodeProcess, free_port


def test_a_node_that_exits_at_once_is_reported_with_what_it_said(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('state = "KZ"\nnode_id = "kz-node"\nnot_a_setting = 1\n')
    process = NodeProcess(config, free_port(), tmp_path / "node.log")
    with pytest.raises(NodeDidNotStart) as raised:
        process.start(timeout=30)
    message = str(raised.value)
    assert "exited with code 3" in message  # the configuration's exit code
    assert "not_a_setting" in message  # the node's own one-line reason, quoted
    assert "Traceback" not in message
    assert isinstance(raised.value, MigrexError)  # the CLI prints it as an error, not a bug
