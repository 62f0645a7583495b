"""Demo step, on request (`migrex demo --console`, `make console`): both nodes stay up with
their officers' consoles, demo officers for every role are made with passwords of their own,
and the addresses and sign-ins are printed, until Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.table import Table

from migrex.console import out
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import NodeProcess
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer
from migrex.settings import load_settings

# Per state: username → the roles it holds at the state's first authority.
DEMO_OFFICERS: dict[str, dict[str, tuple[Role, ...]]] = {
    "KZ": {
        "kz-officer": (Role.OFFICER, Role.REVIEWER),
        "kz-supervisor": (Role.SUPERVISOR, Role.REVIEWER),
        "kz-dpo": (Role.DATA_PROTECTION_OFFICER,),
        "kz-auditor": (Role.AUDITOR,),
        "kz-admin": (Role.ADMINISTRATOR,),
        "kz-statistician": (Role.STATISTICIAN,),
        "kz-analyst": (Role.ANALYST,),
    },
    "AM": {
        "am-officer": (Role.OFFICER, Role.REVIEWER),
        "am-supervisor": (Role.SUPERVISOR, Role.REVIEWER),
        "am-dpo": (Role.DATA_PROTECTION_OFFICER,),
        "am-auditor": (Role.AUDITOR,),
        "am-statistician": (Role.STATISTICIAN,),
    },
}


def keep_consoles(workspace: Workspace) -> None:
    """Runs both nodes with their consoles until Ctrl-C (or SIGTERM)."""
    out.rule("[bold]The officers' consoles")
    sign_ins = {state: _make_officers(workspace, state) for state in DEMO_OFFICERS}
    with _running(workspace) as addresses:
        table = Table("node", "console", "username", "password", "roles")
        for state, officers in sign_ins.items():
            for n, (username, password, roles) in enumerate(officers):
                table.add_row(state if n == 0 else "", addresses[state] if n == 0 else "",
                              username, password, ", ".join(roles))  # fmt: skip
        out.print(table)
        authorities = ", ".join(str(workspace.node_dir(s) / "pki" / "ca.pem") for s in sign_ins)
        out.print(
            "Each console's certificate is signed by its node's own demo authority "
            f"([cyan]{authorities}[/]): a browser warns until it trusts it."
        )
        out.print("Both nodes keep running; [bold]Ctrl-C[/] stops them.")
        _wait_for_interrupt()


def _make_officers(workspace: Workspace, state: str) -> list[tuple[str, str, list[str]]]:
    node = Node(load_settings(workspace.node_config(state)))
    authority = node.settings.authorities[0]
    made = []
    try:
        for username, roles in DEMO_OFFICERS[state].items():
            password = secrets.token_urlsafe(12)
            with node.unit_of_work() as uow:
                add_officer(uow, username=username, display_name=username, password=password,
                            roles=[(role, authority) for role in roles], actor="demo",
                            hosted_authorities=node.settings.authorities)  # fmt: skip
            made.append((username, password, [f"{role.value}@{authority}" for role in roles]))
    finally:
        node.close()
    return made


@contextmanager
def _running(workspace: Workspace) -> Iterator[dict[str, str]]:
    processes = {}
    addresses = {}
    try:
        for state in DEMO_OFFICERS:
            settings = load_settings(workspace.node_config(state))
            process = NodeProcess(workspace.node_config(state), settings.listen_port,
                                  workspace.node_dir(state) / "serve.log")  # fmt: skip
            processes[state] = process.start()
            addresses[state] = (
                f"https://{settings.officer_listen_host}:{settings.officer_listen_port}/ui/"
            )
        yield addresses
    finally:
        for process in processes.values():
            process.stop()


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        out.print("stopping the nodes")
    finally:
        signal.signal(signal.SIGTERM, previous)
