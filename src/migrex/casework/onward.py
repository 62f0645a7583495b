"""The onward-transfer guard: personal data a partner sent goes back to that partner only.

The rule. Every piece of personal data a node received from a partner keeps an `Originator`
label: the state and authority it came from. Such data may be sent
- back to its originator's state (any of that state's authorities: a consultation's findings
  go back and forth, and the other state's bodies share a responsible ministry), and
- nowhere else abroad: never to a third state, whatever that state's own agreement with this
  node says, because the originator consented to a disclosure to this state alone.
Data from the node's own registries carries no label (or the node's own state) and is governed
by the agreement's screening instead. Use inside the node's own state is purpose limitation,
not a transfer, and this guard lets it through when `own_state` is given.

The agreement file's `onward_transfer_allowed` says whether the treaty permits more; the guard
never reads it as permission, since consent for a particular onward transfer would have to come
from the originator in the case itself, which no message type carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from migrex.agreements import Agreement
from migrex.errors import MigrexError, Problem


@dataclass(frozen=True, order=True)
class Originator:
    """Where personal data came from: a partner state and its authority that sent it."""

    state: str
    authority: str


class OnwardTransferRefused(MigrexError):
    type_slug = "onward-transfer-refused"
    title = "Personal data received from a partner cannot go to another state"
    status = 403


def originator_of(agreement: Agreement, sender: str) -> Originator:
    """The label for data received from `sender`; raises NotFound for an unknown authority."""
    return Originator(agreement.authority(sender).state, sender)


def check_onward_transfer(
    labels: Iterable[Originator | None], recipient_state: str, *, own_state: str | None = None
) -> None:
    """Raises OnwardTransferRefused when any labelled data would go to a state other than its
    originator's. None labels, and labels of `own_state`, are the node's own data."""
    if own_state is not None and recipient_state == own_state:
        return
    foreign = sorted(
        {
            label
            for label in labels
            if label is not None and label.state not in {own_state, recipient_state}
        }
    )
    if not foreign:
        return
    states = ", ".join(sorted({label.state for label in foreign}))
    raise OnwardTransferRefused(
        f"the data holds personal data received from {states}; it may not go to "
        f"{recipient_state}, only back to the state it came from",
        [
            Problem(
                f"{label.state}/{label.authority}",
                f"received from {label.authority}; may go back to {label.state} only",
            )
            for label in foreign
        ],
    )
