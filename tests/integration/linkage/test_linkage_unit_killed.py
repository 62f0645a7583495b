"""The linkage unit killed (SIGKILL) in the middle of a party's upload, the party's own copy
half written: once the unit runs again, the party's next `send` writes its copy again from
the last chunk the unit verified (the same key and register give the same chunks, which the
unit's chain check proves), re-sends none of the verified ones, and the transfer is whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casework_steps import now
from linkage_unit_steps import AGREEMENT, UNIT, Linked, accepted_run, linked_nodes
from migrex.linkage.layout import DECOYS
from migrex.linkage.own_register import own_citizens
from migrex.linkage.party import outgoing_dir, send_encodings
from migrex.linkage.runs import run_of
from migrex.linkage.transfer import MANIFEST
from migrex.linkage.unit_client import UnitClient, UnitUnreachable, unit_address

CHUNK = 500


@pytest.fixture
def linked(tmp_path: Path) -> Iterator[Linked]:
    yield from linked_nodes(tmp_path, f"sqlite:///{tmp_path / 'am.db'}")


class Counting(UnitClient):
    """Counts the chunks it puts; with `fail_after`, the connection drops after that many."""

    def __init__(self, linked: Linked, fail_after: int | None = None) -> None:
        super().__init__(unit_address(linked.party("KZ").trust, AGREEMENT, UNIT))
        self.chunks: list[int] = []
        self.fail_after = fail_after

    def put(self, run_id: str, sender: str, what: str, data: bytes) -> dict[str, Any]:
        if what.startswith("chunks/"):
            if self.fail_after is not None and len(self.chunks) == self.fail_after:
                raise UnitUnreachable("the connection dropped")
            self.chunks.append(int(what.split("/")[1]))
        return super().put(run_id, sender, what, data)


def send(linked: Linked, case_id: str, client: UnitClient) -> Any:
    with linked.pair.kz.unit_of_work() as uow, client:
        return send_encodings(uow, linked.party("KZ"), case_id,
                              register=own_citizens(uow.session), client=client,
                              actor="officer:x", now=now(), chunk_records=CHUNK)  # fmt: skip


def test_a_killed_unit_is_resumed_without_sending_a_verified_chunk_again(linked: Linked) -> None:
    case_id = accepted_run(linked)
    first = Counting(linked, fail_after=3)
    with pytest.raises(UnitUnreachable):
        send(linked, case_id, first)
    assert first.chunks == [0, 1, 2]
    # And our own process "died" while writing: the manifest and the chunks after the fifth
    # are gone from our copy, which must be written again from where the unit stands.
    with linked.pair.kz.unit_of_work() as uow:
        run_id = run_of(uow, linked.party("KZ").casework, case_id).proposal.run_id
    ours = outgoing_dir(linked.party("KZ"), run_id)
    (ours / MANIFEST).unlink()
    for chunk in sorted(ours.glob("chunk-*.bin"))[5:]:
        chunk.unlink()
    linked.unit_process.kill()
    linked.unit_process.start()

    second = Counting(linked)
    sent = send(linked, case_id, second)
    assert sent.complete
    assert second.chunks[0] == 3, second.chunks  # 0-2 were verified before the kill
    assert second.chunks == list(range(3, 3 + len(second.chunks)))
    with linked.pair.kz.unit_of_work() as uow:
        people = len(own_citizens(uow.session))
    assert sent.records == people + round(DECOYS * people)  # and a decoy for each
    # Sending once more changes nothing: the unit holds the whole transfer.
    third = Counting(linked)
    assert send(linked, case_id, third).complete and third.chunks == []
