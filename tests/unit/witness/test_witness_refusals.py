"""A witness's refusal of a checkpoint carries a size and a known reason code, nothing else:
what the refused node writes to its security log and its log is its own phrasing (G8)."""

from __future__ import annotations

from migrex.witness.refusals import is_refusal, refusal_answer


def test_a_refusal_carries_the_size_and_a_known_reason_only() -> None:
    checkpoint = {"note": "migrex.kz/kz-node/audit\n44\n...", "size": 44, "proof": []}
    assert refusal_answer(checkpoint, "split-view") == {
        "note": None, "size": 44, "refused": "split-view"
    }  # fmt: skip
    assert refusal_answer(checkpoint, "refused")["refused"] == "refused"
    # Anything else reads as the general refusal; an unreadable checkpoint has no size.
    assert refusal_answer("not json", "AM1234567 Hovhannisyan") == {
        "note": None, "size": None, "refused": "refused"
    }  # fmt: skip


def test_only_an_answer_without_a_cosignature_and_with_a_reason_is_a_refusal() -> None:
    assert is_refusal({"note": None, "size": 3, "refused": "refused"})
    assert not is_refusal({"note": None, "size": 3, "want": [2]})  # proofs asked for
    assert not is_refusal({"note": "cosigned", "refused": "refused"})
    assert not is_refusal(["refused"])
