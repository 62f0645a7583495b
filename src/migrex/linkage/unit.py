"""The linkage unit: a node that compares two parties' encodings and keeps nothing of them.

A node serves as the linkage unit of an agreement when it hosts the unit the agreement's
`[linkage]` section names (its keys and endpoint are in the agreement's signed directory like
any node's). It never holds a run's key and never sees a name or an id: it receives each
party's transfer (`linkage.transfer`: a signed opening, sealed and chained chunks, a signed
manifest), checks every file as it arrives, and once both parties' transfers are whole:

1. compares them (blocking, Dice, one-to-one matching: `linkage.linking.compare`) with the
   agreement's threshold;
2. seals to each party the agreement names as receiving candidates its own candidates only
   (`linkage.results`), signed by the unit;
3. deletes both parties' encodings, and logs it.

A party's signed receipt for its result deletes the result. Every step is an entry of the
unit's own audit log: counts, hashes and authorities, never a record.

Files live under `data_dir/linkage-unit/<agreement>/<run>/`: `<sender>/` per transfer (as
`linkage.reception` reads it), `results/<party>.jwe`, and `run.json`, the unit's note of the
run's progress (counts and times only). A run's comparison takes a file lock, so two processes
of the node never compare one run twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import structlog
from joserfc.util import urlsafe_b64decode

from migrex.agreements import Agreement
from migrex.agreements.model import Linkage
from migrex.audit import events
from migrex.audit.pending import record
from migrex.envelope import is_message_id
from migrex.envelope.model import is_authority_id
from migrex.errors import Conflict, NotFound
from migrex.exchange.trust import Trust
from migrex.linkage.chunks import TransferRefused
from migrex.linkage.reception import load, receive, resume_from
from migrex.linkage.results import (
    candidates_of,
    check_receipt,
    result_digest,
    seal_result,
)
from migrex.linkage.transfer import (
    MANIFEST,
    OPENING,
    STATE,
    Progress,
    ResumePoint,
    chunk_name,
    read_opening,
    write_atomically,
)
from migrex.node import Node

log = structlog.get_logger(__name__)

FOLDER: Final = "linkage-unit"
NOTE: Final = "run.json"
RESULTS: Final = "results"
# A run whose other party never sends, or a result its party never collects, is deleted
# after this long: the unit keeps nothing of a run for longer than its parties need.
KEEP: Final = timedelta(days=14)


class RunConflict(Conflict):
    type_slug = "linkage-run-conflict"
    title = "The linkage unit cannot take this file for the run in its present state"
    status = 409


@dataclass(frozen=True)
class Step:
    """Where a party's transfer stands at the unit."""

    next_chunk: int
    previous: str
    records: int
    complete: bool

    @classmethod
    def of(cls, point: ResumePoint, complete: bool) -> Step:
        return cls(point.index, point.previous.hex(), point.records, complete)

    def as_json(self) -> dict[str, Any]:
        return {"next_chunk": self.next_chunk, "previous": self.previous,
                "records": self.records, "complete": self.complete}  # fmt: skip


@dataclass(frozen=True)
class Served:
    """An agreement this node is the linkage unit of."""

    agreement: Agreement
    linkage: Linkage
    unit: str


@dataclass
class LinkageUnit:
    """The unit's side of every run of the agreements whose unit this node hosts."""

    node: Node
    trust: Trust
    _comparing: set[str]

    @classmethod
    def of(cls, node: Node, trust: Trust) -> LinkageUnit:
        return cls(node, trust, set())

    @property
    def root(self) -> Path:
        return self.node.settings.data_dir / FOLDER

    def unit_of(self, agreement_id: str) -> Served:
        """The agreement this node serves as its unit; NotFound otherwise (a party's node,
        or an agreement without a unit, has no linkage-unit routes)."""
        agreement = self.node.agreements.get(agreement_id)
        linkage = None if agreement is None else agreement.linkage
        if agreement is None or linkage is None or linkage.unit not in self.trust.hosted:
            raise NotFound(f"this node is no linkage unit of {agreement_id}")
        return Served(agreement, linkage, linkage.unit)

    def run_dir(self, agreement_id: str, run_id: str) -> Path:
        self.unit_of(agreement_id)
        if not is_message_id(run_id):
            raise NotFound(f"{run_id!r} is not a run id")
        return self.root / agreement_id / run_id

    def transfer_dir(self, agreement_id: str, run_id: str, sender: str) -> Path:
        agreement = self.unit_of(agreement_id).agreement
        if not is_authority_id(sender) or sender not in agreement.authorities:
            raise NotFound(f"{sender!r} is no authority of {agreement_id}")
        return self.run_dir(agreement_id, run_id) / sender

    # --- receiving ----------------------------------------------------------------------

    def put_opening(self, agreement_id: str, run_id: str, sender: str, raw: bytes) -> Step:
        """Takes a party's signed opening: it must be the sender's, for this run, to us. The
        same opening again is answered as before; another one is a conflict."""
        directory = self.transfer_dir(agreement_id, run_id, sender)
        if _over(directory.parent):
            raise RunConflict(f"run {run_id} was compared or refused already")
        existing = directory / OPENING
        if existing.is_file():
            if existing.read_bytes() != raw:
                raise RunConflict(f"{sender} opened a transfer for run {run_id} already")
            return self.step(agreement_id, run_id, sender)
        others = [d.name for d in directory.parent.iterdir() if d.is_dir() and d.name != RESULTS] \
            if directory.parent.is_dir() else []  # fmt: skip
        served = self.unit_of(agreement_id)
        agreement, unit = served.agreement, served.unit
        if any(agreement.authorities[o].state == agreement.authorities[sender].state
               for o in others if o != sender):  # fmt: skip
            raise RunConflict(f"run {run_id} already has a transfer from {sender}'s state")
        staging = directory.parent / f".{sender}.opening"
        staging.mkdir(parents=True, exist_ok=True)
        write_atomically(staging / OPENING, raw)
        try:
            payload = self._opening(staging)
            if (payload["run_id"], payload["sender"], payload["recipient"]) != (
                run_id,
                sender,
                unit,
            ):
                raise TransferRefused(
                    "foreign-run", "the opening names another run, sender or unit"
                )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        staging.rename(directory)
        self._audit(agreement_id, run_id, f"opened:{sender}")
        return self.step(agreement_id, run_id, sender)

    def put_chunk(
        self, agreement_id: str, run_id: str, sender: str, index: int, raw: bytes
    ) -> Step:
        """Takes the chunk the transfer needs next and checks it at once; a chunk that fails
        is removed and refused, so the sender sends it again."""
        directory = self._open_transfer(agreement_id, run_id, sender)
        step = self.step(agreement_id, run_id, sender)
        if step.complete or index < step.next_chunk:
            return step  # verified already: the sender's retry after a lost answer
        if index > step.next_chunk:
            raise RunConflict(f"chunk {index} arrived before chunk {step.next_chunk}")
        path = directory / chunk_name(index)
        write_atomically(path, raw, durable=False)
        try:
            self._receive(directory)
        except TransferRefused:
            path.unlink(missing_ok=True)
            raise
        return self.step(agreement_id, run_id, sender)

    def put_manifest(self, agreement_id: str, run_id: str, sender: str, raw: bytes) -> Step:
        """Takes the signed manifest; the transfer is whole once it checks against every
        chunk. When both parties' transfers are whole, the comparison starts."""
        directory = self._open_transfer(agreement_id, run_id, sender)
        if self.step(agreement_id, run_id, sender).complete:
            return self.step(agreement_id, run_id, sender)
        write_atomically(directory / MANIFEST, raw)
        try:
            progress = self._receive(directory)
            if progress.manifest is None:
                raise TransferRefused("incomplete", "the manifest did not check")
        except TransferRefused:
            (directory / MANIFEST).unlink(missing_ok=True)
            raise
        self._audit(agreement_id, run_id,
                    f"received:{sender}:records={progress.manifest.record_count}")  # fmt: skip
        # The answer is read before the comparison starts: it deletes both transfers when
        # it is over, which may be before this thread would read them.
        answer = self.step(agreement_id, run_id, sender)
        self.start_comparing(agreement_id, run_id)
        return answer

    def step(self, agreement_id: str, run_id: str, sender: str) -> Step:
        """Where `sender`'s transfer stands: the chunk the unit wants next, and whether it
        is whole."""
        directory = self.transfer_dir(agreement_id, run_id, sender)
        try:
            point = resume_from(directory)
        except FileNotFoundError:
            point = None  # never opened, or deleted as the run ended
        complete = point is not None and _complete(directory)
        if _over(directory.parent) and not complete:
            # Both transfers were whole for the comparison to start: one that is not any
            # more is being deleted, as every transfer is once its run is compared or refused.
            raise RunConflict(f"run {run_id} was compared or refused already: its transfers "
                              "are deleted")  # fmt: skip
        if point is None:
            raise NotFound(f"no transfer from {sender} for run {run_id}")
        return Step.of(point, complete)

    def _open_transfer(self, agreement_id: str, run_id: str, sender: str) -> Path:
        directory = self.transfer_dir(agreement_id, run_id, sender)
        if _over(directory.parent):
            raise RunConflict(f"run {run_id} was compared or refused already")
        if not (directory / OPENING).is_file():
            raise NotFound(f"no transfer from {sender} for run {run_id}: send its opening first")
        return directory

    def _receive(self, directory: Path) -> Progress:
        now = datetime.now(UTC)
        return receive(directory, decryption_keys=self.trust.decryption_keys(now),
                       resolve_signing_key=self.trust.resolve_signing_key, now=now)  # fmt: skip

    def _opening(self, directory: Path) -> dict[str, Any]:
        now = datetime.now(UTC)
        keys = self.trust.decryption_keys(now)
        resolve = self.trust.resolve_signing_key
        opening = read_opening(
            directory, decryption_keys=keys, resolve_signing_key=resolve, now=now
        )
        return dict(opening.payload)

    # --- comparing ----------------------------------------------------------------------

    def senders(self, agreement_id: str, run_id: str) -> list[str]:
        run = self.run_dir(agreement_id, run_id)
        if not run.is_dir():
            return []
        return sorted(d.name for d in run.iterdir() if d.is_dir() and (d / OPENING).is_file())

    def ready(self, agreement_id: str, run_id: str) -> bool:
        """Both parties' transfers are whole and the run not compared yet."""
        if _over(self.run_dir(agreement_id, run_id)):
            return False
        senders = self.senders(agreement_id, run_id)
        return len(senders) == 2 and all(self.step(agreement_id, run_id, s).complete
                                         for s in senders)  # fmt: skip

    def start_comparing(self, agreement_id: str, run_id: str) -> bool:
        """Compares the run in a thread of its own when it is ready and no one compares it;
        True when a comparison started."""
        key = f"{agreement_id}/{run_id}"
        with _STARTING:
            if key in self._comparing or not self.ready(agreement_id, run_id):
                return False
            self._comparing.add(key)

        def work() -> None:
            try:
                self.compare_run(agreement_id, run_id)
            except Exception as error:
                log.error("linkage comparison failed", agreement=agreement_id, run=run_id,
                          error_type=type(error).__name__)  # fmt: skip
            finally:
                with _STARTING:
                    self._comparing.discard(key)

        threading.Thread(target=work, name=f"linkage-{run_id}", daemon=True).start()
        return True

    def compare_run(self, agreement_id: str, run_id: str) -> bool:
        """Compare the run's two transfers, seal each receiving party its candidates, then
        delete both transfers. False when another process holds the run or it is not ready."""
        served = self.unit_of(agreement_id)
        unit, linkage_terms = served.unit, served.linkage
        run = self.run_dir(agreement_id, run_id)
        with _run_lock(run) as held:
            if not held or not self.ready(agreement_id, run_id):
                return False
            now = datetime.now(UTC)
            left_id, right_id = self.senders(agreement_id, run_id)
            keys = self.trust.decryption_keys(now)
            resolve = self.trust.resolve_signing_key
            try:
                if _encoding(run / left_id) != _encoding(run / right_id):
                    raise TransferRefused("manifest-mismatch", "the parties encoded differently")
                left = load(run / left_id, decryption_keys=keys, resolve_signing_key=resolve,
                            now=now)  # fmt: skip
                right = load(run / right_id, decryption_keys=keys, resolve_signing_key=resolve,
                             now=now)  # fmt: skip
            except TransferRefused as refused:
                # Nothing of the run can be compared: say why to both parties, keep nothing.
                _write_note(run, {"refused": refused.reason, "refused_at": now.isoformat()})
                self._delete_encodings(agreement_id, run_id, [left_id, right_id], "refused")
                raise
            # Comparing loads the compiled kernels (numba) and Arrow, which a node that
            # only receives and answers has no use for: they load with the first run.
            from migrex.linkage.linking import compare  # noqa: PLC0415

            linkage = compare(left.encoded, right.encoded, threshold=linkage_terms.threshold)
            ours, theirs = candidates_of(linkage.matches, left.pseudonyms, right.pseudonyms)
            signing = self.trust.signing_key(unit, now)
            (run / RESULTS).mkdir(exist_ok=True)
            for party, found in ((left_id, ours), (right_id, theirs)):
                if party not in linkage_terms.candidates_to:
                    continue
                sealed = seal_result(
                    run_id=run_id, unit=unit, party=party, candidates=found, signing_key=signing,
                    party_key=self.trust.recipient_key(agreement_id, party, now), now=now,
                )  # fmt: skip
                write_atomically(run / RESULTS / f"{party}.jwe", sealed)
            records = {left_id: len(left.encoded), right_id: len(right.encoded)}
            del left, right
            _write_note(run, {"compared_at": now.isoformat(), "records": records,
                              "compared_pairs": linkage.compared_pairs,
                              "pairs": len(ours)})  # fmt: skip
            compared = f"compared:pairs={len(ours)}:compared={linkage.compared_pairs}"
            self._audit(agreement_id, run_id, compared)
            self._delete_encodings(agreement_id, run_id, [left_id, right_id], "compared")
        log.info("linkage run compared", agreement=agreement_id, run=run_id, pairs=len(ours))
        return True

    def _delete_encodings(
        self, agreement_id: str, run_id: str, senders: list[str], why: str
    ) -> None:
        run = self.run_dir(agreement_id, run_id)
        for sender in senders:
            shutil.rmtree(run / sender, ignore_errors=True)
        self._audit(agreement_id, run_id, f"encodings-deleted:{why}:{'+'.join(senders)}",
                    erased=True)  # fmt: skip

    # --- results ------------------------------------------------------------------------

    def result(self, agreement_id: str, run_id: str, party: str) -> bytes | None:
        """The result sealed to `party`; None while the run is not compared yet (the
        comparison is started if it is ready and not running, after a restart say).
        NotFound once collected, or for a party the agreement sends no candidates."""
        served = self.unit_of(agreement_id)
        self.transfer_dir(agreement_id, run_id, party)  # checks the party's id
        if party not in served.linkage.candidates_to:
            raise NotFound(f"{agreement_id} sends no candidates to {party}")
        run = self.run_dir(agreement_id, run_id)
        try:
            return (run / RESULTS / f"{party}.jwe").read_bytes()
        except FileNotFoundError:
            pass  # not compared yet, or collected already (perhaps as we looked)
        note = _note(run)
        if note.get("refused"):
            raise RunConflict(f"run {run_id} could not be compared ({note['refused']}); "
                              "the encodings were deleted: send again under a new run")  # fmt: skip
        if note.get("compared_at"):
            raise NotFound(f"{party} collected its result of run {run_id} already")
        self.start_comparing(agreement_id, run_id)
        return None

    def collected(self, agreement_id: str, run_id: str, party: str, receipt: bytes) -> None:
        """The party's signed receipt for its result: the result is deleted, and logged."""
        run = self.run_dir(agreement_id, run_id)
        path = run / RESULTS / f"{party}.jwe"
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no result of run {run_id} awaits {party}") from None
        check_receipt(receipt, run_id=run_id, party=party, result_sha256=result_digest(sealed),
                      resolve_signing_key=self.trust.resolve_signing_key,
                      now=datetime.now(UTC))  # fmt: skip
        try:
            path.unlink()
        except FileNotFoundError:
            return  # the same receipt sent again at once deleted it first, and logged it
        self._audit(agreement_id, run_id, f"result-deleted:collected-by:{party}", erased=True)

    # --- expiry -------------------------------------------------------------------------

    def expire(self, now: datetime, keep: timedelta = KEEP) -> int:
        """Deletes what waited longer than `keep`: the encodings of a run whose other party
        never sent its own, and a result its party never collected. Each is logged; how
        many were deleted is returned."""
        deleted = 0
        for agreement_id in sorted(self.node.agreements):
            try:
                self.unit_of(agreement_id)
            except NotFound:
                continue
            folder = self.root / agreement_id
            for run in sorted(folder.iterdir()) if folder.is_dir() else []:
                deleted += self._expire_run(agreement_id, run, now - keep)
        return deleted

    def _expire_run(self, agreement_id: str, run: Path, before: datetime) -> int:
        if not run.is_dir() or not is_message_id(run.name):
            return 0
        stale = [d for d in run.iterdir() if d.is_dir() and unchanged_since(d, before)]
        senders = [d.name for d in stale if d.name != RESULTS]
        if senders:
            self._delete_encodings(agreement_id, run.name, senders, "expired")
        expired = [p for p in (run / RESULTS).glob("*.jwe") if unchanged_since(p, before)]
        for path in expired:
            path.unlink()
            self._audit(agreement_id, run.name, f"result-deleted:expired:{path.stem}", erased=True)
        return len(senders) + len(expired)

    # --- the unit's notes and log -------------------------------------------------------

    def _audit(self, agreement_id: str, run_id: str, what: str, *, erased: bool = False) -> None:
        unit = self.unit_of(agreement_id).unit
        make = events.linkage_erased if erased else events.linkage_step
        leaf = make(at=datetime.now(UTC), actor=f"unit:{unit}", authority=unit,
                    reference=f"linkage:{run_id}:{what}")  # fmt: skip
        with self.node.unit_of_work() as uow:
            record(uow.session, leaf)
            uow.commit()


_STARTING = threading.Lock()


def unchanged_since(path: Path, before: datetime) -> bool:
    """Nothing under `path` changed since `before`."""
    stamps = [path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))]
    return max(stamps) < before.timestamp()


def _note(run: Path) -> dict[str, Any]:
    try:
        found = json.loads((run / NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _over(run: Path) -> bool:
    """The run was compared or refused: it takes no more files."""
    note = _note(run)
    return bool(note.get("compared_at") or note.get("refused"))


def _complete(transfer: Path) -> bool:
    try:
        note = json.loads((transfer / STATE).read_text(encoding="utf-8"))
        return note.get("complete") is True
    except (OSError, ValueError, AttributeError):
        return False


def _write_note(run: Path, values: dict[str, Any]) -> None:
    write_atomically(run / NOTE, json.dumps(_note(run) | values, sort_keys=True).encode())


def _encoding(directory: Path) -> Any:
    # Read from the opening the unit has verified already (`load` checked it again).
    payload = (directory / OPENING).read_bytes().split(b".")[1]
    return json.loads(urlsafe_b64decode(payload))["encoding"]


@contextmanager
def _run_lock(run: Path) -> Iterator[bool]:
    """An exclusive, non-blocking lock on the run: True when this process holds it."""
    run.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(run / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)
