"""`migrex agreement validate|show`: check agreement files and display one for a reader."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from migrex.agreements.loader import check_agreement_set, load_agreement
from migrex.agreements.model import Agreement
from migrex.errors import AgreementInvalid, Problem

app = typer.Typer(
    help="Agreement as code: check agreement files and show what they allow.",
    no_args_is_help=True,
)

_CONFIG = Text(" (config)", style="dim italic")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Agreement TOML files.", metavar="FILE...")],
) -> None:
    """Check agreement files: one OK line per good file, every problem of a bad one."""
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    loaded: list[tuple[str, Agreement]] = []
    failed = False
    for path in files:
        try:
            agreement = load_agreement(path)
        except AgreementInvalid as error:
            _print_problems(err, error.detail, error.problems)
            failed = True
            continue
        loaded.append((str(path), agreement))
        note = " (hypothetical example)" if agreement.hypothetical else ""
        out.print(f"OK {path}: {agreement.id} version {agreement.version}{note}", soft_wrap=True)
    conflicts = check_agreement_set(loaded)
    if conflicts:
        _print_problems(err, "the agreements cannot be served together", conflicts)
    if failed or conflicts:
        raise typer.Exit(AgreementInvalid.exit_code)


@app.command()
def show(file: Annotated[Path, typer.Argument(help="An agreement TOML file.")]) -> None:
    """Show an agreement; values the source does not state are tagged (config)."""
    try:
        agreement = load_agreement(file)
    except AgreementInvalid as error:
        _print_problems(Console(stderr=True, highlight=False), error.detail, error.problems)
        raise typer.Exit(AgreementInvalid.exit_code) from None
    Console(highlight=False).print(render(agreement))


def _print_problems(console: Console, detail: str, problems: Iterable[Problem]) -> None:
    # Text objects, not markup strings: key paths such as `senders[1]` must print verbatim.
    console.print(Text(f"INVALID {detail}", style="bold red"), soft_wrap=True)
    for problem in problems:
        line = Text.assemble("  ", (problem.where or "(file)", "bold"), f": {problem.reason}")
        console.print(line, soft_wrap=True)


def render(agreement: Agreement) -> RenderableType:
    """Every section of the agreement as Rich tables, configuration visibly tagged."""
    return Group(
        *_header(agreement),
        *_people(agreement),
        *_rules(agreement),
        *_protection(agreement),
    )


def _value(agreement: Agreement, path: str, value: object, row: str | None = None) -> Text:
    """The value, tagged when it is configuration.

    Cells of a `row` whose whole entry is configuration stay untagged: the id cell says it.
    """
    text = Text(_plain(value))
    whole_row = row is not None and agreement.is_configuration(row)
    if agreement.is_configuration(path) and not whole_row:
        text.append_text(_CONFIG)
    return text


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        if seconds % 86400 == 0:
            return f"{seconds // 86400} days"
        return f"{seconds / 3600:g} hours"
    if isinstance(value, frozenset | list | tuple):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _header(a: Agreement) -> list[RenderableType]:
    head = _table(a.title, "Key", "Value")
    if a.hypothetical:
        head.add_row("status", Text("HYPOTHETICAL EXAMPLE, not a real agreement", "bold red"))
    head.add_row("id / version", f"{a.id} / {a.version}")
    head.add_row("signed", _value(a, "signed", f"{a.signed_on} in {a.signed_at}"))
    for i, r in enumerate(a.ratifications):
        head.add_row(
            "ratified", _value(a, f"ratifications[{i}]", f"{r.on} by {r.body} ({r.state})")
        )
    until = a.valid_until or "open-ended"
    head.add_row("valid", _value(a, "validity", f"from {a.valid_from} until {until}"))
    head.add_row("source", a.provenance.source)
    legend = Text.assemble(
        ("(config)", "dim italic"),
        " marks a value the source does not state: a configured value, listed in "
        "provenance.configuration, to be replaced by the treaty's own.",
    )
    return [head, legend]


def _people(a: Agreement) -> list[RenderableType]:
    parties = _table("Parties", "State", "Name", "Competent authorities")
    for p in a.parties:
        parties.add_row(p.state, p.name, _plain([x.id for x in a.authorities_of(p.state)]))
    authorities = _table(
        "Competent authorities", "Id", "State", "Name (original)", "Name (English)", "Role"
    )
    for i, x in enumerate(a.authorities.values()):
        where = f"authorities[{i}]"
        original = f"[{x.original_language}] {x.name_original}"
        authorities.add_row(
            x.id,
            x.state,
            _value(a, f"{where}.names.{x.original_language}", original),
            _value(a, f"{where}.names.en", x.name_en),
            _value(a, f"{where}.role", x.role, where),
        )
    return [parties, authorities]


def _rules(a: Agreement) -> list[RenderableType]:
    categories = _table(
        "Information categories", "Id", "Title", "Personal data", "Senders", "Receivers"
    )
    for c in a.categories.values():
        where = f"categories.{c.id}"
        categories.add_row(
            _value(a, where, c.id),
            _value(a, f"{where}.title", c.title, where),
            _value(a, f"{where}.personal_data", c.personal_data, where),
            _value(a, f"{where}.senders", c.senders, where),
            _value(a, f"{where}.receivers", c.receivers, where),
        )
    purposes = _table(
        "Purposes",
        "Id",
        "Description",
        "Categories",
        "Legal basis",
        "Data profile",
        "Hit/no-hit first",
    )
    for p in a.purposes.values():
        where = f"purposes.{p.id}"
        purposes.add_row(
            _value(a, where, p.id),
            _value(a, f"{where}.description", p.description, where),
            _value(a, f"{where}.categories", p.categories, where),
            _value(a, f"{where}.article", p.article, where),
            _value(a, f"{where}.profile", p.profile or "none (no personal data)", where),
            _value(a, f"{where}.hit_no_hit_first", p.hit_no_hit_first, where),
        )
    profiles = _table("Data profiles (the person fields a purpose may receive)", "Id", "Fields")
    for d in a.profiles.values():
        profiles.add_row(
            _value(a, f"profiles.{d.id}", d.id),
            _value(a, f"profiles.{d.id}.fields", d.fields, f"profiles.{d.id}"),
        )
    grounds = _table(
        "Refusal grounds", "Id", "Description", "Article", "Proposed on screening breach"
    )
    for g in a.refusal_grounds.values():
        where = f"refusal_grounds.{g.id}"
        breaches = [b for b, ground in a.screening.items() if ground == g.id]
        grounds.add_row(
            _value(a, where, g.id),
            _value(a, f"{where}.description", g.description, where),
            _value(a, f"{where}.article", g.article, where),
            _value(a, "screening", breaches) if breaches else Text("-"),
        )
    deadlines = _table("Deadlines for an answer", "Category", "Normal", "Urgent")
    for category, by_urgency in a.deadlines.items():
        where = f"deadlines.{category}"
        deadlines.add_row(
            category,
            *(_value(a, f"{where}.{u.value}", span) for u, span in by_urgency.items()),
        )
    return [categories, purposes, profiles, grounds, deadlines]


def _protection(a: Agreement) -> list[RenderableType]:
    dp = a.data_protection
    volume = dp.volume
    rules = _table(f"Data protection ({dp.article})", "Rule", "Value")
    rows: list[tuple[str, str, object]] = [
        ("governing article", "article", dp.article),
        (
            "requests only over protected channels",
            "protected_channel_required",
            dp.protected_channel_required,
        ),
        (
            "requested party may verify, study and refuse a doubtful request",
            "requested_party_may_verify",
            dp.requested_party_may_verify,
        ),
        ("onward transfer to third states", "onward_transfer_allowed", dp.onward_transfer_allowed),
        ("retention of received personal data", "retention", dp.retention),
        (
            "persons per request, at most",
            "volume.max_persons_per_request",
            volume.max_persons_per_request,
        ),
        (
            f"persons per {_plain(volume.period)}, at most",
            "volume.max_persons_per_period",
            volume.max_persons_per_period,
        ),
    ]
    for label, key, value in rows:
        rules.add_row(label, _value(a, f"data_protection.{key}", value))
    for i, body in enumerate(dp.responsible):
        where = f"data_protection.responsible[{i}]"
        acting = _value(a, f"{where}.authorities", body.authorities)
        rules.add_row(
            f"responsible in {body.state}", Text.assemble(f"{body.name}; acts through ", acting)
        )
    other = _table("Statistics and exchange", "Setting", "Value")
    other.add_row(
        "statistics disclosure threshold (smaller cells suppressed)",
        _value(a, "statistics.disclosure_threshold", a.disclosure_threshold),
    )
    other.add_row(
        "statistics protection interval (persons each blank may be, either side)",
        _value(a, "statistics.protection_interval", a.protection_interval),
    )
    other.add_row(
        "largest envelope, bytes", _value(a, "exchange.max_envelope_bytes", a.max_envelope_bytes)
    )
    other.add_row("message lifetime", _value(a, "exchange.message_lifetime", a.message_lifetime))
    figures = _table(
        "Reference figures",
        "Id",
        "Description",
        "Citizens of",
        "In",
        "Year",
        "Value",
        "Reported on",
    )
    for i, f in enumerate(a.reference_figures):
        figures.add_row(
            f.id,
            f.description,
            f.citizenship,
            f.host_state,
            str(f.year),
            _value(a, f"reference_figures[{i}].value", f"{f.value:,}"),
            str(f.reported_on),
        )
    return [rules, other, figures] if a.reference_figures else [rules, other]
