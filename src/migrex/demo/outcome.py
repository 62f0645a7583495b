"""What the demo showed, as data: each step records what it computed and what the nodes ended
up holding, and the scenario writes it beside the workspace as JSON. The printed transcript is
for people; this is what `make demo`'s test checks, so a step that goes wrong cannot hide
behind a title or a word that is printed either way."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One of the exchange step's messages, as the sender's outbox and the partner's inbox
    hold it after the step."""

    type: str
    sender: str
    recipient: str
    status: str  # the sender's outbox status
    stored_by_recipient: bool  # the partner's inbox holds it
    receipt_signed_by: str | None  # None when no receipt came back


@dataclass(frozen=True)
class LogVerdict:
    state: str
    intact: bool
    entries: int
    checkpoints: int
    cosignatures: int


@dataclass
class DemoOutcome:
    # Worker figures computed from KZ's imported registries, and the change between them.
    workers: dict[int, int] = field(default_factory=dict)
    workers_change: str = ""
    # The agreement's reference figures (the ratification debate), for comparison only.
    reported: dict[int, int] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    # Case outcomes by scene: the final state at each end, what was filed, what was found.
    cases: dict[str, str | None] = field(default_factory=dict)
    # The released totals as Armenia's node received them, and the change it computed.
    released: dict[int, int | None] = field(default_factory=dict)
    released_change: str = ""
    # The channels step: leads found in KZ's registers, the one opened as a request, how many
    # persons that request named, and the state its case reached at Armenia's node.
    channels: dict[str, str | int | None] = field(default_factory=dict)
    # The linkage step: planted dual citizens, the unit's pairs, how many true, and how the
    # pair an officer asked about ended at both parties.
    linkage: dict[str, Any] = field(default_factory=dict)
    logs: list[LogVerdict] = field(default_factory=list)
    tampered_copy_caught: bool | None = None  # None when the tamper step did not run

    def failures(self) -> list[str]:
        """What went wrong in a way any run can tell, whatever its data: a message not
        delivered and receipted, a log that does not verify, tampering not caught, the
        report's figures not reproduced. Empty when none did."""
        found = [
            f"{d.type} {d.sender} → {d.recipient}: {d.status}, "
            f"{'stored' if d.stored_by_recipient else 'not stored'}, "
            f"receipt signed by {d.receipt_signed_by or 'nobody'}"
            for d in self.deliveries
            if not (d.status == "delivered" and d.stored_by_recipient
                    and d.receipt_signed_by == d.recipient)
        ]  # fmt: skip
        found += [f"{log.state}'s log does not verify" for log in self.logs if not log.intact]
        if self.channels and self.channels.get("state_at_partner") is None:
            found.append("the request opened from a channel lead did not reach Armenia's node")
        if self.linkage and not self.linkage.get("true_pairs"):
            found.append("the linkage run found none of the planted dual citizens")
        if self.linkage and self.linkage.get("pair_at_kz") is None:
            found.append("the pair asked about was not closed by Armenia's answer")
        if self.tampered_copy_caught is False:
            found.append("the tampered copy of KZ's log verifies")
        if self.reported and self.workers != self.reported:
            found.append(f"computed worker figures {self.workers} are not the report's")
        return found

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")  # fmt: skip
        return path
