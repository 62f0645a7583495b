"""`migrex bench ...`: each benchmark prints one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrex import features
from migrex.agreements import load_agreement
from migrex.bench import console, exchange, stats
from migrex.bench.audit import audit_command
from migrex.console import err, out

app = typer.Typer(no_args_is_help=True)
app.command("audit")(audit_command)
# Benchmarks that live in their feature's package, named in the feature list.
for _benchmark in features.benchmarks():
    app.command(_benchmark.name, help=_benchmark.help)(features.resolve(_benchmark.target))


@app.command("exchange")
def exchange_command(
    messages: Annotated[int, typer.Option(help="messages (about) for the throughput run")] = 2000,
    db: Annotated[str, typer.Option("--db", "--backend", help="sqlite or postgresql")] = "sqlite",
    rate: Annotated[float, typer.Option(help="messages per second offered in the latency run")] = (
        100.0
    ),
    agreement: Annotated[Path, typer.Option(help="agreement file")] = Path(
        "agreements/kz-am-2024.toml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Casework between two nodes (separate processes, mutual TLS, durable storage, signed
    receipts): inquiries answered, consultations; the crypto ceiling in the same run."""
    if db not in exchange.DATABASES:
        raise typer.BadParameter("--db is sqlite or postgresql")
    figures = exchange.run(
        messages, db, agreement, rate=rate, progress=lambda s: err.print(f"[dim]{s}[/]")
    )
    if as_json:
        print(json.dumps(figures))
    else:
        out.print_json(data=figures)


@app.command("console")
def console_command(
    cases: Annotated[int, typer.Option(min=300, help="incoming cases in the node")] = 10_000,
    audit_entries: Annotated[
        int, typer.Option(min=0, help="entries in the node's audit log")
    ] = 100_000,
    samples: Annotated[int, typer.Option(min=5, help="requests timed per page")] = 100,
    db: Annotated[str, typer.Option("--db", "--backend", help="sqlite or postgresql")] = "sqlite",
    agreement: Annotated[Path, typer.Option(help="agreement file")] = Path(
        "agreements/kz-am-2024.toml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """The officers' console on a node holding many cases and audit entries: server time of
    a queue page, its htmx partial and the front page; the console's assets gzipped."""
    if db not in exchange.DATABASES:
        raise typer.BadParameter("--db is sqlite or postgresql")
    figures = console.run(cases, audit_entries, samples, db, agreement,
                          progress=lambda s: err.print(f"[dim]{s}[/]"))  # fmt: skip
    if as_json:
        print(json.dumps(figures))
    else:
        out.print_json(data=figures)


@app.command("stats")
def stats_command(
    rows: Annotated[
        int, typer.Option(help="registry rows to count (half persons, half spells)")
    ] = 1_000_000,
    agreement: Annotated[Path, typer.Option(help="agreement file")] = Path(
        "agreements/kz-am-2024.toml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Count, protect and write a release from N rows; pandas does the same count as baseline."""
    figures = stats.run(
        rows, load_agreement(agreement), progress=lambda s: err.print(f"[dim]{s}[/]")
    )
    if as_json:
        print(json.dumps(figures))
    else:
        out.print_json(data=figures)
