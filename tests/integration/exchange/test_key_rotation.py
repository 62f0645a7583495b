"""Rotating keys without downtime: new keys take over, old ones keep working until they end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migrex.demo.workspace import AUTHORITIES
from migrex.directory.demo import DemoNodeSpec, reissue_demo_directory
from migrex.envelope import MessageClaims, new_message_id, seal
from migrex.exchange.receiver import ReceiverPolicy, receive_batch
from migrex.identity.keystore import FileKeyStore
from nodes import Pair

POLICY = ReceiverPolicy({"kz-am-2024"}, 1_000_000, {"kz-am-2024": timedelta(days=7)})
OVERLAP = timedelta(hours=1)


def sealed(pair: Pair, at: datetime) -> str:
    claims = MessageClaims(
        sender="kz-mia", recipient="am-mcs", agreement="kz-am-2024",
        message_id=new_message_id(), type="notice", case_id=None, in_reply_to=None,
        issued_at=at, expires_at=at + timedelta(days=1),
    )  # fmt: skip
    return seal(
        claims,
        {"at": at.isoformat()},
        signing_key=pair.kz_trust.signing_key("kz-mia", at),
        recipient_key=pair.kz_trust.recipient_key("kz-am-2024", "am-mcs", at),
    )


def outcome(pair: Pair, token: str, at: datetime) -> str:
    with pair.am.unit_of_work() as uow:
        [result] = receive_batch(uow, pair.am_trust, [token], policy=POLICY, now=at, peer=None)
    return result.status if result.problem is None else str(result.problem["reason"])


def rotate_everything(pair: Pair, at: datetime) -> None:
    root = pair.kz.settings.data_dir.parent.parent
    for node, authority in ((pair.kz, "kz-mia"), (pair.am, "am-mcs")):
        FileKeyStore(node.settings.resolved_key_dir).rotate(authority, at, OVERLAP)
    specs = [
        DemoNodeSpec(node.settings.state, node.settings.node_id, AUTHORITIES[node.settings.state],
                     node.settings.listen_port)
        for node in (pair.kz, pair.am)
    ]  # fmt: skip
    reissue_demo_directory(root, specs, "kz-am-2024", ("KZ", "AM"), version=2, now=at)
    pair.kz_trust.refresh()
    pair.am_trust.refresh()


def test_rotation_keeps_old_envelopes_valid_until_the_overlap_ends(pair: Pair) -> None:
    start = datetime.now(UTC)
    # Sealed with the keys of before the rotation, delivered after it.
    in_overlap, after_overlap = sealed(pair, start), sealed(pair, start)
    assert outcome(pair, sealed(pair, start), start) == "accepted"

    rotate_everything(pair, start)
    assert pair.am_trust.directories["kz-am-2024"].version == 2
    assert outcome(pair, sealed(pair, start), start) == "accepted"  # new keys, both ways
    assert outcome(pair, in_overlap, start) == "accepted"  # old keys still valid

    late = start + OVERLAP + timedelta(minutes=1)
    assert outcome(pair, after_overlap, late) == "unknown-recipient-key"  # old keys have ended
    assert outcome(pair, sealed(pair, late), late) == "accepted"


def test_a_replayed_older_directory_is_not_taken(pair: Pair) -> None:
    path = pair.am_trust.directory_files["kz-am-2024"]
    version_one = path.read_bytes()
    rotate_everything(pair, datetime.now(UTC))
    path.write_bytes(version_one)
    pair.am_trust.refresh()
    assert pair.am_trust.directories["kz-am-2024"].version == 2
