"""The node's features and what each adds to the CLI, the two web apps and `migrex serve`.

This is the one list the root command (`migrex.cli`), the schema (`migrex.schema`), the
partners' door (`web.app`), the officers' API (`web.officers_app`) and the background jobs
are assembled from. Adding a feature, a command group, tables, a router or a job touches the
feature's own package and one entry here.

Entries name what they add as `"module:attribute"` strings, imported only when used: a
feature's package `__init__` re-exports its model and use cases, and importing them all would
cost `migrex --help` over two seconds (pandas, numpy, DuckDB, FastAPI). The command names and
one-line help live here for the same reason: the root help lists them without importing any
feature.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Command:
    """A command the feature adds under `migrex`: a Typer sub-app (`group`) or one function."""

    name: str
    help: str
    target: str
    group: bool = True


@dataclass(frozen=True)
class Feature:
    """What one feature package adds to the node.

    `benchmarks` are single commands mounted under `migrex bench`, each printing its figures
    as JSON. `tables` name the modules of the feature's SQLAlchemy tables, which the schema and its
    migrations take in (`migrex.schema`). `partner_routers` go on the mutual-TLS door
    partners reach, `officer_routers` on the officers' API; each names a FastAPI
    `APIRouter`. `jobs` name functions `start(runtime: ExchangeRuntime, stop:
    threading.Event) -> None` that `migrex serve` calls once, in list order, whether or not
    the node runs its relays itself; each starts its own threads and ends them when `stop`
    is set, and one that must not run in two processes of a node at once takes a lease
    (`migrex.jobs.start_periodic(..., exclusive=engine)`).
    `filing_hooks` pair a message type with a function casework's filing gate calls, inside
    the message's savepoint, when a message of that type is filed: a feature above casework
    (statistics storing a partner's release) takes part in filing without casework importing
    it. A hook raises a `MigrexError` to have the message quarantined.
    `discard_hooks` name functions `hook(uow, discarded: exchange.service.Discarded)`
    the exchange calls, in the operator's transaction, when an outgoing message is discarded
    (`migrex outbox discard`): casework, above the exchange, notes it on the message's case.
    `sending_hooks` pair a message type with a function the outgoing gate calls, in the
    sender's transaction, once a message of that type passed its checks on a case
    (`hook(session, case_id, our_authority, body, now=now)`): linkage closes the candidate a
    citizenship reply answers, at the party that sends it.
    `own_kinds` are message types that belong to no case, which the feature files itself:
    casework's clerk sets each aside in the inbox as `set_aside_status(name)` for the
    feature's own job.
    `readiness` pair a name with a function `check(node) -> dict` that `/ready` reports under
    that name: `{"ok": bool}` and, when not ok, a `"reason"`; one not ok makes the node not
    ready (witnessing: a partner's witness refuses our log).
    """

    name: str
    commands: tuple[Command, ...] = ()
    benchmarks: tuple[Command, ...] = ()
    tables: tuple[str, ...] = ()
    partner_routers: tuple[str, ...] = ()
    officer_routers: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    filing_hooks: tuple[tuple[str, str], ...] = ()
    discard_hooks: tuple[str, ...] = ()
    sending_hooks: tuple[tuple[str, str], ...] = ()
    own_kinds: tuple[str, ...] = ()
    readiness: tuple[tuple[str, str], ...] = ()


def resolve(target: str) -> Any:
    """The object a `"module:attribute"` target names, importing its module."""
    module, _, attribute = target.partition(":")
    if not attribute:
        raise ValueError(f"{target!r} is not of the form 'module:attribute'")
    return getattr(importlib.import_module(module), attribute)


# The order is the order of `migrex --help` and the order jobs start in.
FEATURES: Final[tuple[Feature, ...]] = (
    Feature(
        "agreements",
        commands=(
            Command("agreement", "Validate and show agreement files.", "migrex.agreements.cli:app"),
        ),
    ),
    Feature(
        "registry",
        commands=(
            Command(
                "registry", "Import and inspect the node's registries.", "migrex.registry.cli:app"
            ),
        ),
        benchmarks=(
            Command(
                "registry",
                "First import of N persons present, then a snapshot refresh.",
                "migrex.registry.bench:run",
                group=False,
            ),
        ),
        tables=("migrex.registry.tables",),
    ),
    Feature(
        "migrations",
        commands=(Command("db", "Database schema migrations.", "migrex.db_cli:app"),),
    ),
    Feature(
        "rotation",
        commands=(
            Command(
                "pki",
                "Keys, demo PKI and signed agreement directories.",
                "migrex.rotation.cli:pki_app",
            ),
            Command(
                "directory",
                "Agreement directories: show, propose, countersign, install.",
                "migrex.rotation.cli:directory_app",
            ),
        ),
        jobs=("migrex.rotation.jobs:file_updates",),
        own_kinds=("directory-update",),
    ),
    Feature(
        "security",
        commands=(
            Command(
                "security-log",
                "Refusals at the node's doors: envelopes, requests, handshakes, logins.",
                "migrex.security.cli:app",
            ),
        ),
        tables=("migrex.security.tables",),
    ),
    Feature(
        "officers",
        commands=(
            Command("user", "Officers, their roles and API tokens.", "migrex.officers.cli:app"),
        ),
        benchmarks=(
            Command(
                "logins",
                "A burst of parallel logins: memory and latency, hashing bounded or not.",
                "migrex.officers.bench:logins",
                group=False,
            ),
        ),
        tables=("migrex.officers.tables",),
        officer_routers=("migrex.officers.api:router", "migrex.officers.api:sessions"),
    ),
    Feature(
        "exchange",
        commands=(
            Command(
                "outbox", "Outgoing messages and their delivery.", "migrex.exchange.cli:outbox_app"
            ),
            Command("inbox", "Received messages.", "migrex.exchange.cli:inbox_app"),
        ),
        tables=("migrex.exchange.tables",),
        partner_routers=("migrex.exchange.api:router",),
        jobs=("migrex.exchange.jobs:start_relays",),
    ),
    Feature(
        "casework",
        commands=(
            Command(
                "case", "Requests and their cases under the agreements.", "migrex.casework.cli:app"
            ),
            # The generic send opens a case like any request, so it is casework's.
            Command(
                "message",
                "Send a request, notice or information to a partner authority.",
                "migrex.casework.cli:message_app",
            ),
        ),
        tables=("migrex.casework.tables",),
        officer_routers=("migrex.casework.routes:router",),
        jobs=(
            "migrex.casework.jobs:file_received_messages",
            "migrex.casework.jobs:forget_request_keys",
        ),
        discard_hooks=("migrex.casework.filing:note_discarded",),
    ),
    Feature(
        "ledger",
        commands=(
            Command(
                "subject", "What was disclosed about a person.", "migrex.ledger.cli:subject_app"
            ),
            Command(
                "limits",
                "Volume limits: persons requested per partner and period.",
                "migrex.ledger.cli:limits",
                group=False,
            ),
        ),
        tables=("migrex.ledger.tables",),
        officer_routers=("migrex.ledger.api:router",),
    ),
    Feature(
        "stats",
        commands=(
            Command("stats", "Statistics releases, in SDMX, compared.", "migrex.stats.cli:app"),
        ),
        tables=("migrex.stats.tables",),
        filing_hooks=(("statistical-information", "migrex.stats.messaging:file_release"),),
    ),
    Feature(
        "audit",
        commands=(
            Command("audit", "The audit log: verify, prove, checkpoints.", "migrex.audit.cli:app"),
        ),
        tables=("migrex.audit.tables",),
    ),
    Feature(
        "witness",
        commands=(
            Command("witness", "Partners witnessing each other's logs.", "migrex.witness.cli:app"),
        ),
        tables=("migrex.witness.tables",),
        partner_routers=("migrex.witness.api:router",),
        jobs=("migrex.witness.jobs:start_witnessing",),
        readiness=(("witnessing", "migrex.witness.refusals:readiness"),),
    ),
    Feature(
        "retention",
        commands=(
            Command(
                "retention", "Erase received data when it expires.", "migrex.retention.cli:app"
            ),
        ),
        tables=("migrex.retention.tables",),
        jobs=("migrex.retention.jobs:erase_expired",),
    ),
    Feature(
        "channels",
        commands=(
            Command(
                "channels",
                "Illegal-migration channels: dense clusters in a node's registers, explained.",
                "migrex.channels.cli:app",
            ),
        ),
        benchmarks=(
            Command(
                "channels",
                "Graph, detection and scoring of N persons present; accuracy and baselines.",
                "migrex.channels.bench:run",
                group=False,
            ),
            Command(
                "channels-scale",
                "The whole analysis of a node's register files (10 M persons): time, memory.",
                "migrex.channels.bench:scale",
                group=False,
            ),
        ),
        officer_routers=("migrex.channels.api:router",),
        tables=("migrex.channels.tables",),
        jobs=("migrex.channels.jobs:forget_departed_members",),
    ),
    # The web console: pages over the features above, on the officers' listener.
    Feature("ui", officer_routers=("migrex.ui.pages:router",)),
    Feature(
        "backup",
        commands=(
            Command(
                "backup",
                "Back up the node, encrypted to an operator key; make that key.",
                "migrex.backup.cli:app",
            ),
            Command(
                "restore",
                "Restore a backup into an empty database and key folder.",
                "migrex.backup.cli:restore",
                group=False,
            ),
        ),
    ),
    Feature(
        "web",
        commands=(
            Command(
                "serve",
                "Run the node (HTTPS with mutual TLS, relay).",
                "migrex.web.cli:serve",
                group=False,
            ),
            Command(
                "relay", "Run an outbox relay on its own.", "migrex.web.cli:relay", group=False
            ),
        ),
    ),
    Feature(
        "bench",
        commands=(
            Command(
                "bench", "Benchmarks that print their figures as JSON.", "migrex.bench.cli:app"
            ),
        ),
    ),
    Feature(
        "linkage",
        commands=(
            Command(
                "linkage",
                "Privacy-preserving linkage of two citizens' registers.",
                "migrex.linkage.cli:app",
            ),
        ),
        benchmarks=(
            Command(
                "linkage",
                "Encoding, Dice comparisons on 1 and 2 threads, cross-script precision/recall.",
                "migrex.linkage.bench:run",
                group=False,
            ),
            Command(
                "linkage-scale",
                "The linkage unit's whole work at a real run's size (20 M x 3 M): time, memory.",
                "migrex.linkage.scale:run",
                group=False,
            ),
        ),
        tables=("migrex.linkage.tables",),
        partner_routers=("migrex.linkage.unit_api:router", "migrex.linkage.unit_api:log_router"),
        jobs=(
            "migrex.linkage.jobs:forget_candidates_job",
            "migrex.linkage.unit_jobs:expire_unit_files",
            "migrex.linkage.unit_witness:witness_units_job",
        ),
        filing_hooks=(
            ("citizenship-verification-request", "migrex.linkage.candidates:partner_asked"),
            ("citizenship-verification-reply", "migrex.linkage.candidates:reply_filed"),
            ("linkage-run-acceptance", "migrex.linkage.runs:acceptance_filed"),
        ),
        sending_hooks=(("citizenship-verification-reply", "migrex.linkage.candidates:reply_sent"),),
    ),
    Feature(
        "synth",
        commands=(
            Command(
                "synth",
                "Generate synthetic registries for both states.",
                "migrex.synth.cli:synth",
                group=False,
            ),
        ),
    ),
    Feature(
        "demo",
        commands=(
            Command(
                "demo",
                "Run the main scenario in a fresh workspace.",
                "migrex.demo.cli:demo",
                group=False,
            ),
        ),
    ),
)


def commands() -> Iterator[Command]:
    for feature in FEATURES:
        yield from feature.commands


def benchmarks() -> Iterator[Command]:
    for feature in FEATURES:
        yield from feature.benchmarks


def table_modules() -> Iterator[Any]:
    for feature in FEATURES:
        for module in feature.tables:
            yield importlib.import_module(module)


def partner_routers() -> Iterator[Any]:
    for feature in FEATURES:
        for target in feature.partner_routers:
            yield resolve(target)


def officer_routers() -> Iterator[Any]:
    for feature in FEATURES:
        for target in feature.officer_routers:
            yield resolve(target)


def jobs() -> Iterator[Any]:
    for feature in FEATURES:
        for target in feature.jobs:
            yield resolve(target)


def filing_hooks() -> dict[str, Any]:
    """Message type → the hook called when a message of that type is filed."""
    return {kind: resolve(target) for f in FEATURES for kind, target in f.filing_hooks}


def sending_hooks() -> dict[str, Any]:
    """Message type → the hook the outgoing gate calls when the node sends one."""
    return {kind: resolve(target) for f in FEATURES for kind, target in f.sending_hooks}


def discard_hooks() -> list[Any]:
    """What is called when an operator discards an outgoing message, in feature order."""
    return [resolve(target) for f in FEATURES for target in f.discard_hooks]


def readiness_checks() -> dict[str, Any]:
    """Name → the check `/ready` reports under it, in feature order."""
    return {name: resolve(target) for f in FEATURES for name, target in f.readiness}


def set_aside_status(feature: str) -> str:
    """The inbox status under which casework's clerk leaves a feature's own kinds to it."""
    return f"for-{feature}"


def set_aside() -> dict[str, str]:
    """Message type → the inbox status its feature's clerk takes it up under."""
    return {kind: set_aside_status(f.name) for f in FEATURES for kind in f.own_kinds}


VERIFY_SOURCES: Final = "migrex.witness.cli:PartnerSources"
"""What `migrex audit verify` checks the log against beyond the database (the partners'
cosigning keys, the heads of our log they hold): supplied by witnessing, which stands above
the audit log and so cannot be imported by it."""
