"""Running nodes as separate processes on this machine: for the demo, tests and benchmarks."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from migrex.errors import MigrexError


class NodeDidNotStart(MigrexError):
    """A node process (`migrex serve` or `migrex relay`) exited or did not answer in time:
    what it printed last says why (its log holds no personal data, G8)."""

    type_slug = "node-did-not-start"
    title = "A node process did not start"
    status = 500


# What of a node's log a start failure quotes: its last lines, each cut short.
LOG_TAIL_LINES = 8
LOG_TAIL_CHARACTERS = 300


# Where `free_port` picks: below Linux's ephemeral range (32768-60999), from which the kernel
# gives every outgoing connection its local port. A port the kernel chose for us would be free
# when chosen and could be taken by a client's connection before the node binds it; these
# ports are only ever taken by a listener that asks for one by number.
PORTS_FROM, PORTS_TO = 20000, 32767
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port no listener holds now and this process has not handed out before."""
    for _ in range(1000):
        port = random.randint(PORTS_FROM, PORTS_TO)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise NodeDidNotStart(f"no free port between {PORTS_FROM} and {PORTS_TO} on 127.0.0.1")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class NodeProcess:
    """`migrex serve` (or another command, such as `relay`) for one node config, started and
    stopped (or killed) on request; `env` overrides settings for this process only."""

    config: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    command: tuple[str, ...] = ("serve",)
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 30.0) -> NodeProcess:
        self._log = self.log_path.open("ab")
        started_at = self.log_path.stat().st_size
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "migrex", "--config", str(self.config), *self.command],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._close_log()
                raise NodeDidNotStart(
                    f"{self.config} exited with code {self.process.returncode}"
                    f"{self._said(started_at)}"
                )
            if self._ready(started_at):
                return self
            time.sleep(0.05)
        self.kill()
        raise NodeDidNotStart(f"{self.config} did not start in {timeout}s{self._said(started_at)}")

    def _said(self, log_offset: int) -> str:
        """The last lines the process wrote to its log since `log_offset`, to quote."""
        with self.log_path.open("rb") as log:
            log.seek(log_offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        said = [line[:LOG_TAIL_CHARACTERS] for line in lines if line.strip()][-LOG_TAIL_LINES:]
        if not said:
            return f"; it wrote nothing to {self.log_path}"
        return f"; the last of {self.log_path}:\n" + "\n".join(said)

    def _ready(self, log_offset: int) -> bool:
        if self.command[0] == "serve":
            return _listening(self.port)
        with self.log_path.open("rb") as log:  # `migrex relay` says when it runs
            log.seek(log_offset)
            return b" running" in log.read()

    def terminate(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM, as a service manager stops a node; its exit code and how long it took."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"{self.config} is not running")
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        took = time.monotonic() - began
        self._close_log()
        return code, took

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._close_log()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log:
            self._log.close()
            self._log = None
