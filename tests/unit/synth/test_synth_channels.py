"""Planted channels under `ChannelOptions`: today's defaults unchanged, cohesion as asked,
camouflage in FRAUDAR's ratios, and a null world without channels."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import typer
from typer.testing import CliRunner

from migrex.registry.checks import TableCheck
from migrex.registry.columns import Kind
from migrex.synth import MIN_PERSONS, Channel, Population, generate
from migrex.synth.channels import ChannelOptions
from migrex.synth.cli import synth

SEED = 7
TODAY = date(2025, 12, 31)
# The tables and ground truth of generate(MIN_PERSONS, 7), since the planted dual citizens
# carry their variation (`synth.variation`) and the near misses include similar names.
DEFAULT_DIGEST = "f9fac03d5e6f14162e48d053b97d2fd50a149afcac2649c2abda01ed9a5a83c6"
# The same without the planted citizens (dual citizens and near misses) and without the
# references to them (a planted Kazakh citizen inviting a foreigner): unchanged since before
# channel options existed, so the variation of the planted pairs moved nothing else.
BACKGROUND_DIGEST = "4ff3d001555ad6a21ed8987f44b2fd96fe01edcdd8c25f274abcf031294f853b"


def _digest(population: Population) -> str:
    digest = hashlib.sha256()
    for node in ("KZ", "AM"):
        for kind in Kind:
            for column in population.table(node, kind).columns:
                digest.update(repr(column.to_pylist()).encode())
    channels = [c.to_json() for c in population.ground_truth.channels]
    digest.update(json.dumps(channels).encode())
    return digest.hexdigest()


def _background_digest(population: Population) -> str:
    truth = population.ground_truth
    planted = sorted(
        {
            i
            for t in (truth.dual_citizens, truth.near_misses)
            for i in t["kz_national_id"].to_pylist()
        }
        | {
            i
            for t in (truth.dual_citizens, truth.near_misses)
            for i in t["am_national_id"].to_pylist()
        }
    )
    digest = hashlib.sha256()
    for node in ("KZ", "AM"):
        for kind in Kind:
            table = population.table(node, kind)
            if kind is Kind.CITIZENS:
                table = table.filter(pc.invert(pc.is_in(table["national_id"], pa.array(planted))))
            for name in table.column_names:
                values = table.column(name).to_pylist()
                if name == "inviting_party":
                    values = [None if v in planted else v for v in values]
                digest.update(repr(values).encode())
    digest.update(json.dumps([c.to_json() for c in truth.channels]).encode())
    return digest.hexdigest()


def _rows(population: Population, node: str, kind: Kind) -> list[dict[str, object]]:
    table: pa.Table = population.table(node, kind)
    return table.to_pylist()


def _links(population: Population, channel: Channel) -> dict[str, tuple[int, int]]:
    """Per member: (channel links, ordinary employment rows)."""
    members = set(channel.member_record_ids)
    persons = {
        r["record_id"]: r
        for r in _rows(population, channel.node, Kind.PERSONS_PRESENT)
        if r["record_id"] in members
    }
    jobs: dict[str, Counter[bool]] = {m: Counter() for m in members}
    for row in _rows(population, channel.node, Kind.EMPLOYMENT):
        if row["person_record_id"] in members:
            front = channel.front_firm and row["employer_id"] == channel.employer_id
            jobs[str(row["person_record_id"])][front] += 1
    out = {}
    for member, person in persons.items():
        window = (
            person["entry_point"] == channel.entry_point
            and channel.arrivals_from <= person["entry_date"] <= channel.arrivals_to
        )
        links = (
            int(person["inviting_party"] == channel.inviting_party)
            + int(window)
            + int(person["registration_address"] in channel.addresses)
            + int(jobs[member][True] > 0)
        )
        out[member] = (links, jobs[member][False])
    return out


def test_default_output_is_unchanged() -> None:
    population = generate(MIN_PERSONS, SEED)
    assert _background_digest(population) == BACKGROUND_DIGEST
    assert _digest(population) == DEFAULT_DIGEST
    assert _digest(generate(MIN_PERSONS, SEED, channels=ChannelOptions())) == DEFAULT_DIGEST


@pytest.mark.parametrize("cohesion", [0.5, 0.8])
def test_cohesion_is_the_share_of_channel_links_members_have(cohesion: float) -> None:
    population = generate(MIN_PERSONS, SEED, channels=ChannelOptions(cohesion=cohesion))
    linked = possible = 0
    for channel in population.ground_truth.channels:
        for links, ordinary in _links(population, channel).values():
            linked += links
            possible += 4 if channel.front_firm else 3
            assert ordinary == 0  # no camouflage asked for
    assert possible > 500
    assert linked / possible == pytest.approx(cohesion, abs=0.05)


@pytest.mark.parametrize(("camouflage", "ratio"), [("none", 0), ("1:1", 1), ("2:1", 2)])
def test_camouflage_adds_ordinary_links_in_the_asked_ratio(camouflage: str, ratio: int) -> None:
    options = ChannelOptions(cohesion=0.8, camouflage=camouflage)
    population = generate(MIN_PERSONS, SEED, channels=options)
    links = ordinary = 0
    for channel in population.ground_truth.channels:
        for own, other in _links(population, channel).values():
            links += own
            ordinary += other
    assert links > 500
    # A member who came another way can still fall into the window by chance: a link the
    # generator did not count, hence the tolerance.
    assert ordinary == pytest.approx(ratio * links, rel=0.02)


def _employers_of_camouflage(camouflage: str) -> Counter[str]:
    options = ChannelOptions(camouflage=camouflage)
    population = generate(MIN_PERSONS, SEED, channels=options)
    used: Counter[str] = Counter()
    for channel in population.ground_truth.channels:
        members = set(channel.member_record_ids)
        for row in _rows(population, channel.node, Kind.EMPLOYMENT):
            front = channel.front_firm and row["employer_id"] == channel.employer_id
            if row["person_record_id"] in members and not front:
                used[str(row["employer_id"])] += 1
    return used


def test_biased_camouflage_goes_to_popular_employers() -> None:
    biased, random = _employers_of_camouflage("biased"), _employers_of_camouflage("1:1")
    assert sum(biased.values()) == sum(random.values()) > 0
    top = sum(n for _, n in biased.most_common(10))
    assert top / sum(biased.values()) > 2 * sum(n for _, n in random.most_common(10)) / sum(
        random.values()
    )


def test_null_world_has_no_channel_and_the_same_size() -> None:
    population = generate(MIN_PERSONS, SEED, channels=ChannelOptions(planted=False))
    assert population.ground_truth.channels == ()
    assert population.table("KZ", Kind.PERSONS_PRESENT).num_rows == MIN_PERSONS
    assert population.table("AM", Kind.PERSONS_PRESENT).num_rows == MIN_PERSONS // 4
    assert population.table("KZ", Kind.VIOLATIONS).num_rows > 0


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="cohesion"):
        ChannelOptions(cohesion=1.5)
    with pytest.raises(ValueError, match="camouflage"):
        ChannelOptions(camouflage="3:1")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("synth")(synth)
    app.command("noop")(lambda: None)  # with two commands, `synth` is a subcommand
    return app


def test_command_writes_a_null_world_and_camouflaged_channels(tmp_path: Path) -> None:
    base = ["synth", "--persons", "10000", "--seed", "3", "--format", "csv"]
    null = CliRunner().invoke(_app(), [*base, "--out", str(tmp_path / "null"), "--no-channels"])
    assert null.exit_code == 0, null.output
    truth = json.loads((tmp_path / "null" / "ground_truth" / "channels.json").read_text())
    assert truth["channels"] == []
    options = ["--channel-cohesion", "0.5", "--camouflage", "2:1"]
    planted = CliRunner().invoke(_app(), [*base, "--out", str(tmp_path / "on"), *options])
    assert planted.exit_code == 0, planted.output
    truth = json.loads((tmp_path / "on" / "ground_truth" / "channels.json").read_text())
    assert len(truth["channels"]) == 7
    refused = CliRunner().invoke(
        _app(), [*base, "--out", str(tmp_path / "x"), "--camouflage", "3:1"]
    )
    assert refused.exit_code == 2


def test_more_archetypes_add_shell_chains_across_three_employers() -> None:
    classic = generate(MIN_PERSONS, SEED)
    population = generate(MIN_PERSONS, SEED, channels=ChannelOptions(more_archetypes=True))
    channels = population.ground_truth.channels
    assert len(channels) == len(classic.ground_truth.channels) + 4
    # The classic channels are planted as before; the chains come after them on each node.
    kept = {c.channel_id: c.member_record_ids for c in classic.ground_truth.channels}
    assert all(
        len(kept[c.channel_id]) == len(c.member_record_ids)
        for c in channels
        if c.channel_id in kept
    )
    for chain in (c for c in channels if c.channel_id not in kept and not c.document_office):
        members = set(chain.member_record_ids)
        employers = Counter(
            row["employer_id"]
            for row in _rows(population, chain.node, Kind.EMPLOYMENT)
            if row["person_record_id"] in members
        )
        assert len(employers) == 3  # the front and two shells, nobody else
        assert max(employers.values()) < sum(employers.values()) * 0.6
        assert chain.employer_id in employers


def test_more_archetypes_plant_document_brokers() -> None:
    """A broker's members share the documents' office and fortnight, and little else; the
    register gives every person's document office and date, the default output none."""
    population = generate(MIN_PERSONS, SEED, channels=ChannelOptions(more_archetypes=True))
    brokers = [c for c in population.ground_truth.channels if c.document_office]
    assert sorted(c.node for c in brokers) == ["AM", "KZ"]
    for broker in brokers:
        assert broker.documents_from and broker.documents_to
        assert (broker.documents_to - broker.documents_from).days < 14
        members = set(broker.member_record_ids)
        rows = _rows(population, broker.node, Kind.PERSONS_PRESENT)
        theirs = [r for r in rows if r["record_id"] in members]
        at_office = [
            r
            for r in theirs
            if r["document_issuing_office"] == broker.document_office
            and broker.documents_from <= r["document_issue_date"] <= broker.documents_to
        ]
        assert len(at_office) >= 0.7 * len(members)  # fmt: skip
        # Where that office issues documents to persons outside the batch, it does so rarely.
        others = [r for r in rows if r["document_issuing_office"] == broker.document_office
                  and r["record_id"] not in members]  # fmt: skip
        assert len(others) < len(at_office)
        inviters = Counter(r["inviting_party"] for r in theirs if r["inviting_party"])
        assert not inviters or max(inviters.values()) < 0.5 * len(members)
        flats = Counter(r["registration_address"] for r in theirs)
        assert max(flats.values()) < 0.5 * len(members)
        assert all(r["document_issuing_office"] and r["document_issue_date"] for r in rows)
        assert broker.to_json()["document_office"] == broker.document_office
        assert isinstance(broker.employer_id, str)
    json.dumps([c.to_json() for c in population.ground_truth.channels])  # as synth writes it
    default = generate(MIN_PERSONS, SEED)
    table = default.table("KZ", Kind.PERSONS_PRESENT)
    assert "document_issuing_office" not in table.column_names
    assert all("document_office" not in c.to_json() for c in default.ground_truth.channels)


def test_hard_negatives_are_lawful_clusters_outside_the_ground_truth() -> None:
    plain = generate(MIN_PERSONS, SEED, channels=ChannelOptions(planted=False))
    options = ChannelOptions(planted=False, hard_negatives=True)
    population = generate(MIN_PERSONS, SEED, channels=options)
    assert population.ground_truth.channels == ()

    def shared(world: Population, node: str) -> Counter[tuple[object, object]]:
        persons = _rows(world, node, Kind.PERSONS_PRESENT)
        return Counter((p["registration_address"], p["inviting_party"]) for p in persons)

    for node, clusters in (("KZ", 2), ("AM", 1)):
        grown = shared(population, node)
        grown.subtract(shared(plain, node))
        # Each look-alike: dozens at one address invited by one party (a dormitory, a hostel).
        assert sum(1 for n in grown.values() if n >= 50) == clusters
    assert population.table("KZ", Kind.PERSONS_PRESENT).num_rows == MIN_PERSONS


@pytest.mark.parametrize(
    "options",
    [
        ChannelOptions(cohesion=0.5, camouflage="2:1", more_archetypes=True, hard_negatives=True),
        ChannelOptions(camouflage="biased", more_archetypes=True),
        ChannelOptions(planted=False, hard_negatives=True),
    ],
)
def test_every_table_passes_the_importers_checks(options: ChannelOptions) -> None:
    population = generate(MIN_PERSONS, SEED, channels=options)
    for node in ("KZ", "AM"):
        for kind in Kind:
            table = population.table(node, kind)
            as_text = pa.table(
                [c.cast(pa.string()) for c in table.columns], names=table.column_names
            )
            assert TableCheck(kind, node, TODAY).run(as_text) == [], (node, kind)
