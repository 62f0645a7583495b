"""The console in a real browser: Debian's Chromium driven by Playwright, against two real
nodes (`migrex serve` for Kazakhstan and Armenia, each with its officers' listener).

The browser is never downloaded (a closed network cannot): `make test` installs Debian's
`chromium` and `fonts-noto-core`, and a missing browser fails these tests rather than
skipping them. axe-core (vendored under `vendor/`, never served by a node) is injected into
every page by the browser itself, so the pages keep their policy; every Content-Security-Policy
violation the browser reports is collected, and every page audited leaves a screenshot under
`test-artefacts/console/` (or `$MIGREX_TEST_ARTEFACTS`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

import migrated
from casework_scenes import INQUIRY
from console_client import PASSWORD
from factories import employment, person_present, write_csv
from migrex.casework.service import OpenRequest, node_context, open_request
from migrex.casework.tables import CaseRow
from migrex.demo.workspace import Workspace
from migrex.directory.demo import DemoUnitSpec
from migrex.exchange.processes import NodeProcess, free_port
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.settings import load_settings
from migrex.synth import generate, write_population

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"
ARTEFACTS = Path(os.environ.get("MIGREX_TEST_ARTEFACTS", Path(__file__).parents[2] /
                                "test-artefacts")) / "console"  # fmt: skip
ASKED = ["surname_latin", "permit_type", "employer_name", "permit_valid_to"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Each state's officers: username → roles at the state's authority.
OFFICERS = {
    "KZ": ("kz-mia", {"aigerim": [Role.REVIEWER], "daulet": [Role.REVIEWER],
                      "saule": [Role.SUPERVISOR, Role.REVIEWER], "dana": [Role.AUDITOR]}),
    "AM": ("am-mcs", {"anahit": [Role.OFFICER], "armen": [Role.SUPERVISOR],
                      "sona": [Role.STATISTICIAN], "ani": [Role.ANALYST]}),
}  # fmt: skip

# Reports every CSP violation to the console, where the test collects it.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 120) : "";
  console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI + " at " +
                event.sourceFile + ":" + event.lineNumber + ":" + event.columnNumber + " " + where);
});
"""


# One browser per test module, not per run: Playwright's sync API keeps an event loop on the
# main thread while it lives, and every later test that runs its own (asyncio.run) would
# find it running.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium and "
                    "fonts-noto-core (apt-get install chromium fonts-noto-core)")  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@dataclass
class ConsoleNode:
    state: str
    authority: str
    node: Node
    url: str  # the officers' listener, over TLS
    ca: Path  # the node's own authority, which signed the listener's certificate


@dataclass
class ConsolePair:
    nodes: dict[str, ConsoleNode]
    processes: list[NodeProcess] = field(default_factory=list)

    def __getitem__(self, state: str) -> ConsoleNode:
        return self.nodes[state]


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def _add_officer(node: Node, username: str, roles: list[tuple[Role, str]]) -> None:
    with node.unit_of_work() as uow:
        add_officer(uow, username=username, display_name=username.title(), roles=roles,
                    password=PASSWORD, actor="test",
                    hosted_authorities=node.settings.authorities)  # fmt: skip


def _registries(node: Node, root: Path) -> None:
    """Kazakhstan's registries hold the person of `casework_scenes.INQUIRY`."""
    persons, jobs = root / "persons.csv", root / "employment.csv"
    write_csv(persons, Kind.PERSONS_PRESENT, [person_present(1, document_number="AM1234567")])
    write_csv(jobs, Kind.EMPLOYMENT, [employment(1, 1)])
    with node.unit_of_work() as uow:
        files = [(Kind.PERSONS_PRESENT, persons), (Kind.EMPLOYMENT, jobs)]
        import_registries(uow, files, state="KZ", actor="test")


@pytest.fixture(scope="package")
def console_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePair]:
    """Kazakhstan's and Armenia's nodes as `migrex serve` processes, each with officers who
    sign in with `console_client.PASSWORD` on the officers' listener over HTTPS."""
    with consoles(tmp_path_factory.mktemp("console"), AGREEMENT_FILE) as pair:
        yield pair


@contextmanager
def consoles(
    root: Path, agreement_file: Path, *, linkage_unit: str | None = None
) -> Iterator[ConsolePair]:
    """Both nodes running under `agreement_file`, until the block ends; with `linkage_unit`,
    also that linkage unit of the agreement as its own `migrex serve` (hosted by Kazakhstan),
    and both citizens' registers of a synthetic population imported."""
    workspace = Workspace(root / "ws")
    ports = {state: free_port() for state in OFFICERS}
    officer_ports = {state: free_port() for state in OFFICERS}
    units = [DemoUnitSpec("kz-am-2024", linkage_unit, "KZ", f"{linkage_unit}-node", free_port())
             ] if linkage_unit else []  # fmt: skip
    workspace.create({s: [agreement_file] for s in OFFICERS}, {"kz-am-2024": ("KZ", "AM")}, ports,
                     officer_ports=officer_ports, units=units,
                     agreement_files={"kz-am-2024": agreement_file})  # fmt: skip
    pair = ConsolePair({})
    try:
        for unit in units:
            unit_node = Node(load_settings(workspace.unit_config(unit)))
            migrated.upgrade(unit_node.engine)
            unit_node.close()
            process = NodeProcess(workspace.unit_config(unit), unit.port,
                                  workspace.root / "unit-serve.log")  # fmt: skip
            pair.processes.append(process.start())
        if units:
            write_population(generate(10_000, seed=11), root / "synth", "parquet")
        for state, (authority, officers) in OFFICERS.items():
            config = workspace.node_config(state)
            node = Node(load_settings(config))
            migrated.upgrade(node.engine)
            for username, roles in officers.items():
                _add_officer(node, username, [(r, authority) for r in roles])
            if state == "KZ":
                _registries(node, root)
            if units:
                with node.unit_of_work() as uow:
                    citizens = root / "synth" / state / "citizens.parquet"
                    import_registries(uow, [(Kind.CITIZENS, citizens)], state=state,
                                      actor="test")  # fmt: skip
            process = NodeProcess(config, ports[state], workspace.node_dir(state) / "serve.log")
            pair.processes.append(process.start())
            _wait_listening(officer_ports[state])
            host = node.settings.officer_listen_host
            pair.nodes[state] = ConsoleNode(
                state,
                authority,
                node,
                f"https://{host}:{officer_ports[state]}",
                workspace.node_dir(state) / "pki" / "ca.pem",
            )
        yield pair
    finally:
        for process in pair.processes:
            process.stop()
        for console in pair.nodes.values():
            console.node.close()


def open_inquiry(pair: ConsolePair, body: dict[str, Any] | None = None) -> str:
    """Armenia's caseworker asks kz-mia about a person; returns the case once Kazakhstan's
    node (the real process, over mutual TLS) has it."""
    am, kz = pair["AM"].node, pair["KZ"].node
    with am.unit_of_work() as uow:
        asked = {**INQUIRY, "requested_fields": ASKED, "step": "full"}
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry",
                              body or asked, "officer:anahit")  # fmt: skip
        case_id = open_request(uow, node_context(am), command, datetime.now(UTC)).case_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with kz.unit_of_work() as uow:
            if uow.session.get(CaseRow, case_id) is not None:
                return case_id
        time.sleep(0.2)
    raise AssertionError(f"case {case_id} did not reach Kazakhstan's node")


def wait_for_state(node: Node, case_id: str, states: tuple[str, ...], timeout: float = 60) -> str:
    """The case's state once it is one of `states` (the nodes exchange in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with node.unit_of_work() as uow:
            case = uow.session.get(CaseRow, case_id)
            if case is not None and case.state in states:
                return case.state
        time.sleep(0.2)
    raise AssertionError(f"case {case_id} did not reach {states}")


def settled(page: Page) -> None:
    """Waits until htmx has no request in flight and nothing swapping or settling: a button
    htmx swapped in answers a click or a key only once htmx has processed it, and on a loaded
    machine the test can be quicker."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function("(busy) => !document.querySelector(busy)", arg=busy)


@dataclass
class Tab:
    """One browser tab with what the checks collect from it."""

    page: Page
    base: str
    csp_violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.go("/ui/sign-in")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/ui/")

    def audit(self, name: str) -> list[dict[str, Any]]:
        """axe-core's serious and critical WCAG 2.2 AA violations on the page as it is now,
        after a screenshot saved as `name`."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        # A tab behind another gets no animation frames, and a screenshot waits for one.
        self.page.bring_to_front()
        self.page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
        result = self.page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
        )
        serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            (ARTEFACTS / f"{name}.axe.json").write_text(json.dumps(serious, indent=2))
        return [{"id": v["id"], "nodes": [n["html"] for n in v["nodes"]]} for v in serious]


def _new_context(chromium: Browser) -> BrowserContext:
    # The listeners' certificates are signed by each demo node's own authority, which this
    # browser profile does not trust; `test_console_pages` checks the chain with `ssl` itself.
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900},
                                   ignore_https_errors=True)  # fmt: skip
    context.add_init_script(script=AXE)
    context.add_init_script(script=_CSP_REPORTER)
    return context


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    context = _new_context(chromium)
    yield context
    context.close()


@pytest.fixture
def tab_at(context: BrowserContext, chromium: Browser) -> Iterator[Any]:
    """`tab_at(url)`: a new tab whose CSP violations and page errors are collected. Each node
    gets its own browser profile, as two ministries' officers have: both test nodes listen
    on 127.0.0.1, and cookies do not tell ports apart, so one profile would let signing in
    to one console sign the officer out of the other."""
    profiles: dict[str, BrowserContext] = {}

    def open_tab(base: str) -> Tab:
        if base not in profiles:
            profiles[base] = context if not profiles else _new_context(chromium)
        page = profiles[base].new_page()
        tab = Tab(page, base)

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text or "CSP violation" in message.text:
                tab.csp_violations.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda e: tab.errors.append(str(e)))
        return tab

    yield open_tab
    for profile in profiles.values():
        if profile is not context:
            profile.close()
