"""A node process that does not start says why: the benchmark, the demo and the tests that
start nodes quote the end of its log instead of pointing at a file in a folder they delete."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from migrex.errors import MigrexError
from migrex.exchange import processes
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


def test_free_ports_are_distinct_and_outside_the_range_outgoing_connections_take() -> None:
    ephemeral_from, ephemeral_to = map(
        int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    )
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert not [port for port in ports if ephemeral_from <= port <= ephemeral_to]


def test_a_port_a_listener_holds_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        held = listener.getsockname()[1]
        picks = iter([held, held, 23456])
        monkeypatch.setattr(processes.random, "randint", lambda low, high: next(picks))
        monkeypatch.setattr(processes, "_handed_out", set())
        assert free_port() == 23456
