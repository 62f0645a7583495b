"""The guarantee matrix's cells, and what every check shares: one node pair per test module
with officers of every role, cases in the states the checks need, and a count of every table's
rows to tell that a refused input changed nothing.

A row gives every guarantee of GUARANTEES.md a cell: a `Check` (a function that asserts the
outcome on that path and can fail), `NotApplicable` with the reason, or `Fails` (a check that
fails today: a finding, run as a strict xfail so that fixing it turns the build red until the
cell becomes a plain `Check`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

import migrated
from casework_scenes import INQUIRY, incoming_in_review, officers_app, token
from casework_steps import context, now
from guarantee_paths import Guarantee
from migrex.casework.service import OpenRequest, open_request
from migrex.cli import app as cli_app
from migrex.db import make_engine
from migrex.exchange.runtime import ExchangeRuntime
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.schema import metadata
from migrex.web.app import create_app
from nodes import Pair, World, make_pair, world_nodes

# A person no registry holds, planted in inputs: it must never come back in an error or a log.
PLANTED = "ZZPLANTEDSURNAME"
PLANTED_DOCUMENT = "ZZ9876543"
APPROVER_PASSWORD = "a long passphrase for approvals"


@dataclass(frozen=True)
class NotApplicable:
    reason: str


@dataclass(frozen=True)
class Check:
    run: Callable[..., None]
    args: tuple[Any, ...] = ()

    def __call__(self, scene: Scene, path: str) -> None:
        self.run(scene, path, *self.args)


@dataclass(frozen=True)
class Fails:
    """A guarantee that does not hold on this path today: the finding, and the check that
    shows it (a strict xfail: when it starts to pass, the cell must become a Check)."""

    finding: str
    check: Check


@dataclass(frozen=True)
class Pending:
    """A guarantee that applies here and is not yet checked by the matrix: shown as a skip
    with its reason (who owns the check, or which test holds it today), never hidden."""

    reason: str


Cell = NotApplicable | Check | Fails | Pending
Row = Mapping[Guarantee, Cell]


def row(defaults: Mapping[Guarantee, Cell], **cells: Cell) -> dict[Guarantee, Cell]:
    """A full row: `defaults` (each a stated cell) overridden by `cells` given as G1=..."""
    full = dict(defaults)
    for name, cell in cells.items():
        full[Guarantee[name]] = cell
    missing = set(Guarantee) - set(full)
    assert not missing, f"a row leaves out {sorted(g.id for g in missing)}"
    return full


def cells(rows: Mapping[str, Row]) -> list[Any]:
    """The pytest parameters of a table: one per path and guarantee."""
    params = []
    for path, cells_of in rows.items():
        for guarantee in Guarantee:
            cell = cells_of[guarantee]
            marks = []
            if isinstance(cell, Fails):
                marks.append(pytest.mark.xfail(strict=True, reason=cell.finding))
            params.append(pytest.param(path, guarantee, id=f"{path} | {guarantee.id}", marks=marks))
    return params


def run_cell(scene: Scene, rows: Mapping[str, Row], path: str, guarantee: Guarantee) -> None:
    cell = rows[path][guarantee]
    if isinstance(cell, NotApplicable):
        # Passes, with its reason in the table: a cell is never left out silently.
        assert len(cell.reason.split()) >= 3, f"{path} {guarantee.id}: say why it does not apply"
        return
    if isinstance(cell, Pending):
        pytest.skip(f"not yet checked by the matrix: {cell.reason}")
    (cell.check if isinstance(cell, Fails) else cell)(scene, path)


# ---------------------------------------------------------------- the scene


@dataclass
class Scene:
    """Armenia's node (with Kazakhstan's beside it) as the checks find it."""

    pair: Pair
    app: FastAPI  # the officers' API of Armenia's node
    door: FastAPI  # the partners' door of Armenia's node
    config: str  # Armenia's node file, for the CLI
    tokens: dict[str, str]  # by role value, each for am-mcs; "all" holds every role
    case_in_review: str  # an incoming person inquiry at am-mcs, in review
    outgoing_case: str  # am-mcs's own person inquiry to kz-mia
    outgoing_message: str
    root: Path  # a folder of the scene's own, for what a check sets up beside it
    extra: dict[str, Any] = field(default_factory=dict)

    def world(self) -> World:
        """KZ, AM and KG in-process (`nodes.world_nodes`), made at the first call and closed
        with the scene."""
        if "world" not in self.extra:
            manager = world_nodes(self.root / "world")
            self.extra.setdefault("managers", []).append(manager)
            self.extra["world"] = manager.__enter__()
        world: World = self.extra["world"]
        return world

    def cli(
        self, *argv: str, token: str | None = None, stdin: str | None = None,
        node: Node | None = None,
    ) -> Any:  # fmt: skip
        """`migrex --config <Armenia's node, or `node`'s> ARGV` as the holder of `token`."""
        env = {"COLUMNS": "200", "MIGREX_TOKEN": token or ""}
        config = self.config if node is None else str(node.settings.data_dir.parent / "node.toml")
        return CliRunner(env=env).invoke(cli_app, ["--config", config, *argv], input=stdin)

    @property
    def node(self) -> Node:
        return self.pair.am

    def url(self, template: str) -> str:
        # A lead no run made: the checks that need one of a run make it (guarantee_channels).
        return template.format(authority="am-mcs", case_id=self.case_in_review,
                               message_id=self.outgoing_message,
                               lead_id="R999999-L0001")  # fmt: skip

    def call(
        self, method: str, url: str, token: str | None, body: Any = None, *,
        raw: bytes | None = None, app: FastAPI | None = None,
    ) -> httpx.Response:  # fmt: skip
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=app or self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                if raw is not None:
                    headers["Content-Type"] = "application/json"
                    return await client.request(method, url, content=raw, headers=headers)
                return await client.request(method, url, json=body, headers=headers)

        return asyncio.run(run())

    def counts(self, node: Node | None = None) -> dict[str, int]:
        """Rows in every table of the node."""
        with (node or self.node).unit_of_work() as uow:
            return {
                table.name: uow.session.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata.sorted_tables
            }


def build_scene(root: Path) -> Iterator[Scene]:
    url = f"sqlite:///{root / 'am.db'}"
    engine = make_engine(url)
    migrated.upgrade(engine)
    engine.dispose()
    for pair in make_pair(root, url):
        am = pair.am
        tokens = {r.value: token(am, f"{r.value}-only", [(r, "am-mcs")]) for r in Role}
        with am.unit_of_work() as uow:
            add_officer(uow, username="every-role", display_name="Every Role",
                        roles=[(r, "am-mcs") for r in Role], password=APPROVER_PASSWORD,
                        actor="test", hosted_authorities=am.settings.authorities)  # fmt: skip
        with am.unit_of_work() as uow:
            tokens["all"] = issue_token(uow, username="every-role", name="matrix",
                                        ttl=timedelta(days=1), actor="test").token  # fmt: skip
        in_review = incoming_in_review(pair)
        with am.unit_of_work() as uow:
            command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                                  "officer:test")  # fmt: skip
            opened = open_request(uow, context(am), command, now())
        scene = Scene(
            pair, officers_app(am),
            create_app(ExchangeRuntime(am, pair.am_trust)),
            str(am.settings.data_dir.parent / "node.toml"), tokens, in_review,
            opened.case_id, opened.message_id, root,
        )  # fmt: skip
        try:
            yield scene
        finally:
            # What a check set up beside the pair (the three-state world) ends with it.
            for manager in scene.extra.get("managers", []):
                manager.__exit__(None, None, None)
