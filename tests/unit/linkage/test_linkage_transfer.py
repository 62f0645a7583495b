"""Bulk transfer of encodings: the round trip, every kind of tampering refused, resumption
after an interruption, and memory bounded by a chunk."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage_transfer import NOW, Parties, assert_same, encodings
from migrex.linkage.blocking import PASSES
from migrex.linkage.chunks import (
    Batch,
    TransferRefused,
    Uint64s,
    batches,
    open_chunk,
    pack,
    seal_chunk,
)
from migrex.linkage.layout import PASS_NAMES, Encoded, Tokens
from migrex.linkage.reception import read_batches, receive, resume_from
from migrex.linkage.transfer import (
    MANIFEST,
    OPENING,
    STATE,
    chunk_name,
    encoding_parameters,
    read_opening,
    resume_sending,
    send,
)

Data = tuple[Encoded, Uint64s]
RECORDS, CHUNK = 1000, 128  # eight chunks, the last of 104 records


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties()


@pytest.fixture(scope="module")
def data() -> Data:
    return encodings(RECORDS)


@pytest.fixture
def sent(parties: Parties, data: Data, tmp_path: Path) -> Path:
    directory = tmp_path / "transfer"
    parties.send_all(directory, *data, chunk_records=CHUNK)
    return directory


def flip(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))


def test_the_transfer_names_the_blocking_passes_the_parties_compute() -> None:
    # A transfer's parameters name the passes without loading blocking (`layout.PASS_NAMES`).
    assert tuple(PASSES) == PASS_NAMES


def test_what_arrives_is_what_was_sent(parties: Parties, data: Data, sent: Path) -> None:
    progress = parties.receive(sent)
    assert progress.complete and progress.verified == 8 and progress.records == RECORDS
    assert progress.manifest is not None and progress.manifest.record_count == RECORDS
    assert_same(parties.load(sent), *data)


def test_the_files_hold_no_record_in_clear(data: Data, sent: Path) -> None:
    encoded, pseudonyms = data
    first_filter = encoded.filters[0].tobytes()
    for path in sent.iterdir():
        raw = path.read_bytes()
        assert first_filter not in raw and pseudonyms[:1].tobytes() not in raw


def test_nothing_is_used_before_the_receiver_has_seen_the_whole(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    sending = parties.start(tmp_path, chunk_records=CHUNK)
    for batch in list(batches(data[0], data[1], CHUNK))[:3]:
        sending.write(batch)
    progress = parties.receive(tmp_path)
    assert (progress.verified, progress.records, progress.complete) == (3, 3 * CHUNK, False)
    with pytest.raises(TransferRefused) as refused:
        parties.load(tmp_path)
    assert refused.value.reason == "incomplete"
    with pytest.raises(TransferRefused):
        next(read_batches(tmp_path, **parties.receiver))


def refused(parties: Parties, directory: Path) -> TransferRefused:
    with pytest.raises(TransferRefused) as caught:
        parties.receive(directory)
    with pytest.raises(TransferRefused):
        parties.load(directory)
    return caught.value


def test_a_tampered_chunk_is_refused(parties: Parties, sent: Path) -> None:
    flip(sent / chunk_name(2), 500)
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("bad-signature", 2)
    assert "chunk 2" in error.detail


def test_a_tampered_header_or_signature_is_refused(parties: Parties, sent: Path) -> None:
    flip(sent / chunk_name(1), 10)  # the index
    assert refused(parties, sent).reason == "bad-signature"
    path = sent / chunk_name(4)
    flip(sent / chunk_name(1), 10)
    flip(path, path.stat().st_size - 1)  # the signature
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("bad-signature", 4)


def test_reordered_chunks_are_refused(parties: Parties, sent: Path) -> None:
    one, two = sent / chunk_name(1), sent / chunk_name(2)
    first, second = one.read_bytes(), two.read_bytes()
    one.write_bytes(second)
    two.write_bytes(first)
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("out-of-order", 1)


def test_a_duplicated_chunk_is_refused(parties: Parties, sent: Path) -> None:
    shutil.copy(sent / chunk_name(2), sent / chunk_name(3))
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("duplicate", 3)


def test_a_missing_chunk_is_refused(parties: Parties, sent: Path) -> None:
    (sent / chunk_name(5)).unlink()
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("missing", 5)


def test_a_transfer_cut_short_is_refused(parties: Parties, sent: Path) -> None:
    (sent / chunk_name(7)).unlink()
    assert refused(parties, sent).reason == "missing"


def test_a_truncated_chunk_is_refused(parties: Parties, sent: Path) -> None:
    path = sent / chunk_name(3)
    path.write_bytes(path.read_bytes()[:-100])
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("truncated", 3)


def test_a_chunk_of_another_run_is_refused(parties: Parties, data: Data, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    parties.send_all(ours, *data, chunk_records=CHUNK)
    parties.send_all(theirs, *data, chunk_records=CHUNK, run_id="run-2")
    shutil.copy(theirs / chunk_name(2), ours / chunk_name(2))
    error = refused(parties, ours)
    assert (error.reason, error.chunk) == ("foreign-run", 2)


def test_a_chunk_of_another_transfer_of_the_same_run_is_refused(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    ours, again = tmp_path / "ours", tmp_path / "again"
    parties.send_all(ours, *data, chunk_records=CHUNK)
    parties.send_all(again, *data, chunk_records=CHUNK)
    shutil.copy(again / chunk_name(0), ours / chunk_name(0))
    error = refused(parties, ours)
    assert (error.reason, error.chunk) == ("broken-chain", 0)


def test_a_chunk_that_fails_its_tag_is_refused(parties: Parties, sent: Path) -> None:
    """Signed by the sender and linked right, but sealed under another key: only the
    cipher's tag can tell."""
    opening = read_opening(sent, **parties.receiver)
    first = open_chunk(
        (sent / chunk_name(0)).read_bytes(), index=0, run_id="run-1", previous=opening.sha256,
        aead=AESGCM(opening.content_key), verify_key=parties.chunk_key.public_key(),
        max_records=CHUNK,
    )  # fmt: skip
    batch = next(batches(*data_of(CHUNK * 2), CHUNK, start=1))
    forged = seal_chunk(
        pack(batch, list(PASSES)), index=1, records=CHUNK, run_id="run-1",
        previous=first.link, nonce=secrets.token_bytes(12),
        aead=AESGCM(AESGCM.generate_key(bit_length=256)), signing_key=parties.chunk_key,
    )  # fmt: skip
    (sent / chunk_name(1)).write_bytes(forged.data)
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("undecryptable", 1)


def test_a_chunk_after_the_last_is_refused(parties: Parties, sent: Path) -> None:
    """A chunk the sender signed and linked after the manifest's last."""
    progress = parties.receive(sent)
    opening = read_opening(sent, **parties.receiver)
    assert progress.manifest is not None
    batch = next(batches(*data_of(CHUNK), CHUNK))
    surplus = seal_chunk(
        pack(Batch(RECORDS, batch.filters, batch.pseudonyms, shifted(batch, RECORDS)),
             list(PASSES)),
        index=8, records=CHUNK, run_id="run-1",
        previous=bytes.fromhex(progress.manifest.chain_head), nonce=secrets.token_bytes(12),
        aead=AESGCM(opening.content_key), signing_key=parties.chunk_key,
    )  # fmt: skip
    (sent / chunk_name(8)).write_bytes(surplus.data)
    (sent / STATE).unlink()
    error = refused(parties, sent)
    assert (error.reason, error.chunk) == ("surplus", 8)


def test_a_tampered_manifest_is_refused(parties: Parties, sent: Path) -> None:
    manifest = sent / MANIFEST
    raw = manifest.read_text()
    header, payload, signature = raw.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["record_count"] -= 1
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    manifest.write_text(f"{header}.{forged}.{signature}")
    assert refused(parties, sent).reason == "bad-signature"


def test_a_manifest_of_another_transfer_is_refused(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    ours, again = tmp_path / "ours", tmp_path / "again"
    parties.send_all(ours, *data, chunk_records=CHUNK)
    parties.send_all(again, *data, chunk_records=CHUNK)
    shutil.copy(again / MANIFEST, ours / MANIFEST)
    assert refused(parties, ours).reason == "manifest-mismatch"


def test_a_manifest_signed_by_someone_else_is_refused(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    stranger = Parties(recipient=parties.recipient)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    parties.send_all(ours, *data, chunk_records=CHUNK)
    stranger.send_all(theirs, *data, chunk_records=CHUNK)
    shutil.copy(theirs / MANIFEST, ours / MANIFEST)
    assert refused(parties, ours).reason == "unknown-sender-key"
    shutil.copy(theirs / OPENING, ours / OPENING)
    assert refused(parties, ours).reason == "unknown-sender-key"


def test_a_transfer_for_another_recipient_is_refused(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    elsewhere = Parties(signing=parties.signing, own=parties.own)
    elsewhere.send_all(tmp_path, *data, chunk_records=CHUNK)
    assert refused(parties, tmp_path).reason == "wrong-recipient"


def test_encodings_made_with_other_parameters_are_refused(parties: Parties, sent: Path) -> None:
    with pytest.raises(TransferRefused) as caught:
        receive(sent, **parties.receiver, encoding=encoding_parameters(salt="year"))
    assert caught.value.reason == "manifest-mismatch"
    assert receive(sent, **parties.receiver, encoding=encoding_parameters()).complete


def test_a_chunk_changed_after_it_was_received_is_refused_on_use(
    parties: Parties, sent: Path
) -> None:
    assert parties.receive(sent).complete
    flip(sent / chunk_name(6), 300)
    with pytest.raises(TransferRefused) as caught:
        parties.load(sent)
    assert (caught.value.reason, caught.value.chunk) == ("bad-signature", 6)


def test_a_damaged_progress_note_costs_a_new_check_and_a_forged_one_is_not_believed(
    parties: Parties, sent: Path
) -> None:
    (sent / STATE).write_text("{not json")
    assert resume_from(sent).index == 0
    with pytest.raises(TransferRefused):
        parties.load(sent)
    assert parties.receive(sent).complete
    assert resume_from(sent).index == 8
    # A note claiming the whole when a chunk was swapped for another run's: use re-checks.
    state = json.loads((sent / STATE).read_text())
    (sent / chunk_name(7)).write_bytes((sent / chunk_name(6)).read_bytes())
    (sent / STATE).write_text(json.dumps(state))
    assert parties.receive(sent).complete  # the note is the receiver's own shortcut
    with pytest.raises(TransferRefused) as caught:
        parties.load(sent)
    assert (caught.value.reason, caught.value.chunk) == ("duplicate", 7)


def shifted(batch: Batch, first: int) -> dict[str, Tokens]:
    return {
        name: Tokens(t.tokens, t.rows - batch.first + first) for name, t in batch.blocks.items()
    }


def data_of(records: int) -> tuple[Encoded, Uint64s]:
    return encodings(records, seed=99)


# --- resumption ----------------------------------------------------------------------------


def test_a_killed_sender_resumes_after_the_last_verified_chunk(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    sending = parties.start(tmp_path, chunk_records=CHUNK)
    for batch in list(batches(data[0], data[1], CHUNK))[:3]:
        sending.write(batch)
    # Killed while writing chunk 3: half a file under its temporary name.
    (tmp_path / (chunk_name(3) + ".partial")).write_bytes(secrets.token_bytes(5000))
    assert parties.receive(tmp_path).verified == 3
    kept = {i: (tmp_path / chunk_name(i)).read_bytes() for i in range(3)}
    point = resume_from(tmp_path)
    assert point.index == 3
    sending = resume_sending(
        tmp_path, point, signing_key=parties.signing, sender_decryption_key=parties.own, now=NOW
    )
    send(sending, batches(data[0], data[1], CHUNK), NOW)
    assert parties.receive(tmp_path).complete
    # The verified chunks were not sent again (each sealing draws a fresh nonce).
    assert {i: (tmp_path / chunk_name(i)).read_bytes() for i in range(3)} == kept
    assert_same(parties.load(tmp_path), *data)


def test_a_refused_chunk_is_sent_again_and_the_transfer_completes(
    parties: Parties, data: Data, sent: Path
) -> None:
    path = sent / chunk_name(4)
    path.write_bytes(path.read_bytes()[:1000])  # the transport died mid-file
    assert refused(parties, sent).reason == "truncated"
    point = resume_from(sent)
    assert point.index == 4
    sending = resume_sending(
        sent, point, signing_key=parties.signing, sender_decryption_key=parties.own, now=NOW
    )
    send(sending, batches(data[0], data[1], CHUNK, start=point.index), NOW)
    assert parties.receive(sent).complete
    assert_same(parties.load(sent), *data)


def test_a_sender_that_died_before_the_first_chunk_starts_from_the_opening(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    parties.start(tmp_path, chunk_records=CHUNK)
    assert parties.receive(tmp_path).verified == 0
    point = resume_from(tmp_path)
    sending = resume_sending(
        tmp_path, point, signing_key=parties.signing, sender_decryption_key=parties.own, now=NOW
    )
    send(sending, batches(data[0], data[1], CHUNK), NOW)
    assert parties.receive(tmp_path).complete
    assert_same(parties.load(tmp_path), *data)


def test_a_sender_that_died_before_the_manifest_writes_only_the_manifest(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    sending = parties.start(tmp_path, chunk_records=CHUNK)
    for batch in batches(data[0], data[1], CHUNK):
        sending.write(batch)
    assert parties.receive(tmp_path).verified == 8
    point = resume_from(tmp_path)
    assert (point.index, point.records) == (8, RECORDS)  # the last chunk was short
    kept = {path.name: path.read_bytes() for path in tmp_path.glob("chunk-*")}
    sending = resume_sending(
        tmp_path, point, signing_key=parties.signing, sender_decryption_key=parties.own, now=NOW
    )
    assert send(sending, batches(data[0], data[1], CHUNK), NOW).record_count == RECORDS
    assert {path.name: path.read_bytes() for path in tmp_path.glob("chunk-*")} == kept
    assert parties.receive(tmp_path).complete


def test_only_the_sender_can_resume(parties: Parties, data: Data, tmp_path: Path) -> None:
    parties.start(tmp_path, chunk_records=CHUNK)
    with pytest.raises(TransferRefused):
        resume_sending(
            tmp_path, resume_from(tmp_path), signing_key=Parties().signing,
            sender_decryption_key=parties.own, now=NOW,
        )  # fmt: skip
    with pytest.raises(TransferRefused):
        resume_sending(
            tmp_path, resume_from(tmp_path), signing_key=parties.signing,
            sender_decryption_key=parties.recipient, now=NOW,
        )  # fmt: skip


# --- memory ------------------------------------------------------------------------------


def test_reading_holds_one_chunk_at_a_time(parties: Parties, tmp_path: Path) -> None:
    encoded, pseudonyms = encodings(20_000, seed=3)
    parties.send_all(tmp_path, encoded, pseudonyms, chunk_records=500)  # 40 chunks
    tracemalloc.start()
    try:
        assert parties.receive(tmp_path).complete
        _, receiving = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    chunk_bytes = max(p.stat().st_size for p in tmp_path.glob("chunk-*.bin"))
    total = sum(p.stat().st_size for p in tmp_path.glob("chunk-*.bin"))
    records = 0
    tracemalloc.start()
    try:
        for batch in read_batches(tmp_path, **parties.receiver):
            records += len(batch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == 20_000
    assert peak < 5 * chunk_bytes and peak < total / 5
    assert receiving < 5 * chunk_bytes


def test_writing_holds_one_chunk_at_a_time(parties: Parties, tmp_path: Path) -> None:
    """Batches made one at a time (as an encoder writing a register slice by slice would)
    are sealed and written one at a time."""

    def produced() -> Iterator[Batch]:
        for index in range(40):
            encoded, pseudonyms = encodings(500, seed=index)
            yield Batch(index * 500, encoded.filters, pseudonyms, shifted_all(encoded, index * 500))

    sending = parties.start(tmp_path, chunk_records=500)
    tracemalloc.start()
    try:
        send(sending, produced(), NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    chunk_bytes = max(p.stat().st_size for p in tmp_path.glob("chunk-*.bin"))
    assert parties.receive(tmp_path).records == 20_000
    assert peak < 6 * chunk_bytes


def shifted_all(encoded: Encoded, first: int) -> dict[str, Tokens]:
    return {name: Tokens(t.tokens, t.rows + first) for name, t in encoded.blocks.items()}


# --- any size ----------------------------------------------------------------------------

SHARED = Parties()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.integers(0, 300), chunk_records=st.integers(1, 70), seed=st.integers(0, 99))
def test_any_size_and_chunking_round_trips(records: int, chunk_records: int, seed: int) -> None:
    encoded, pseudonyms = encodings(records, seed)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        manifest = SHARED.send_all(directory, encoded, pseudonyms, chunk_records=chunk_records)
        assert manifest.chunk_count == -(-records // chunk_records)
        progress = SHARED.receive(directory)
        assert progress.complete and progress.records == records
        assert_same(SHARED.load(directory), encoded, pseudonyms)


def test_the_sender_refuses_batches_out_of_order(
    parties: Parties, data: Data, tmp_path: Path
) -> None:
    sending = parties.start(tmp_path, chunk_records=CHUNK)
    cut = list(batches(data[0], data[1], CHUNK))
    with pytest.raises(ValueError, match="row 0"):
        sending.write(cut[1])
    sending.write(cut[0])
    with pytest.raises(ValueError):
        parties.start(tmp_path, chunk_records=CHUNK)
    short = Batch(CHUNK, cut[1].filters[:5], cut[1].pseudonyms[:5], {
        name: Tokens(t.tokens[:0], t.rows[:0]) for name, t in cut[1].blocks.items()
    })  # fmt: skip
    sending.write(short)
    with pytest.raises(ValueError, match="last"):
        sending.write(cut[2])


def test_chunk_headers_must_be_well_formed(sent: Path) -> None:
    with pytest.raises(ValueError):
        seal_chunk(
            b"", index=0, records=1, run_id="x" * 65, previous=bytes(32), nonce=bytes(12),
            aead=AESGCM(bytes(32)), signing_key=Parties().chunk_key,
        )  # fmt: skip
    assert (
        np.frombuffer((sent / chunk_name(0)).read_bytes()[:8], dtype=np.uint8).tobytes()
        == b"MGXLNK01"
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.integers(1, 200), chunk_records=st.integers(1, 40), cut=st.floats(0, 1),
    seed=st.integers(0, 99),
)  # fmt: skip
def test_a_transfer_interrupted_anywhere_resumes_to_the_same_whole(
    records: int, chunk_records: int, cut: float, seed: int
) -> None:
    encoded, pseudonyms = encodings(records, seed)
    cut_batches = list(batches(encoded, pseudonyms, chunk_records))
    written = int(cut * len(cut_batches))
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        sending = SHARED.start(directory, chunk_records=chunk_records)
        for batch in cut_batches[:written]:
            sending.write(batch)
        (directory / (chunk_name(written) + ".partial")).write_bytes(b"\0" * 77)
        assert SHARED.receive(directory).verified == written
        point = resume_from(directory)
        assert point.index == written
        sending = resume_sending(
            directory, point, signing_key=SHARED.signing, sender_decryption_key=SHARED.own,
            now=NOW,
        )  # fmt: skip
        send(sending, batches(encoded, pseudonyms, chunk_records), NOW)
        assert SHARED.receive(directory).complete
        assert_same(SHARED.load(directory), encoded, pseudonyms)


TAMPERED = Parties()
TAMPERED_DATA = encodings(300, seed=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 10), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_flipped_bit_of_any_file_is_refused(which: int, where: float, bit: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        TAMPERED.send_all(directory, *TAMPERED_DATA, chunk_records=40)  # 8 chunks
        files = [OPENING, MANIFEST, *(chunk_name(i) for i in range(8))]
        path = directory / files[which % len(files)]
        raw = bytearray(path.read_bytes())
        raw[int(where * len(raw))] ^= 1 << bit
        path.write_bytes(bytes(raw))
        with pytest.raises(TransferRefused):
            TAMPERED.receive(directory)
        with pytest.raises(TransferRefused):
            TAMPERED.load(directory)
