"""A release as a statistical-information message, and back.

The figures travel as an SDMX-CSV 2.0 attachment; the message body says which dataset,
period and version they are. The receiver rebuilds the release from its own copy of the
agreement (dimensions, codelists, producer), so a partner cannot slip in a dimension, a code
or a producer the agreement does not define: anything that does not fit is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.casework.messages import SDMX_CSV, Attachment, StatisticalInformation
from migrex.casework.service import NodeContext, Opened, OpenRequest, open_request
from migrex.officers.model import Action, Officer, require
from migrex.stats.release import Release, ReleaseInvalid
from migrex.stats.sdmx_data import release_to_sdmx_csv
from migrex.stats.sdmx_read import release_from_sdmx_csv
from migrex.stats.service import (
    PARTNER,
    dataset_of,
    load,
    record_release_decision,
    store,
    template_of,
)
from migrex.uow import UnitOfWork

PURPOSE = "migration-statistics"


def release_body(release: Release, *, summary: str | None = None) -> dict[str, Any]:
    """The body of the statistical-information message carrying `release`."""
    data = release_to_sdmx_csv(release).encode("utf-8")
    name = f"{release.dataset_id}-{release.period}-v{release.version}.csv"
    total = release.value(release.grand_total_key)
    body = StatisticalInformation(
        subject=f"{release.title}, {release.period} (version {release.version})",
        summary=summary,
        purpose=PURPOSE,
        reference_period=str(release.period),
        figures={} if total is None else {"total": total},
        release={
            "dataset": release.dataset_id,
            "period": release.period,
            "version": release.version,
            "prepared_at": release.prepared_at,
            "rounding_base": release.rounding_base,
        },
        attachments=[Attachment.of(name, SDMX_CSV, data)],
    )
    return body.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class SendRelease:
    """Send version `version` (None: the latest) of our release of a dataset and period."""

    agreement: Agreement
    dataset_id: str
    period: int
    recipient: str
    version: int | None = None


def send_release(
    uow: UnitOfWork, node: NodeContext, officer: Officer, command: SendRelease, now: datetime
) -> tuple[Release, Opened]:
    """Send one of our releases to a partner authority as statistical information, in one
    commit: the officer must be allowed to release statistics for the dataset's producer; the
    send is audited as the release's decision ("sent-to:<recipient>") beside the gate's own
    entry for the message."""
    agreement = command.agreement
    producer = dataset_of(agreement, command.dataset_id).producer
    require(officer, Action.RELEASE_STATISTICS, producer)
    release = load(uow.session, agreement, command.dataset_id, command.period, producer=producer,
                   version=command.version)  # fmt: skip
    record_release_decision(uow.session, release, event=f"sent-to:{command.recipient}",
                            actor=officer.actor, now=now)  # fmt: skip
    opening = OpenRequest(agreement.id, producer, command.recipient, "statistical-information",
                          release_body(release), officer.actor)  # fmt: skip
    return release, open_request(uow, node, opening, now)


def received_release(agreement: Agreement, sender: str, body: StatisticalInformation) -> Release:
    """The release a partner's message carries, checked against our copy of the agreement."""
    header = body.release
    if header is None:
        raise ReleaseInvalid("the message carries no release")
    dataset = dataset_of(agreement, header.dataset)
    if dataset.producer != sender:
        raise ReleaseInvalid(f"{header.dataset} is produced by {dataset.producer}, not by {sender}")
    [attachment] = [a for a in body.attachments if a.media_type == SDMX_CSV]
    template = template_of(agreement, dataset, version=header.version,
                           prepared_at=header.prepared_at,
                           rounding_base=header.rounding_base)  # fmt: skip
    try:
        text = attachment.data().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReleaseInvalid(f"{attachment.name} is not UTF-8 text") from error
    release = release_from_sdmx_csv(text, template=template)
    if release.period != header.period:
        raise ReleaseInvalid(f"the message says {header.period}, the SDMX data {release.period}")
    return release


def file_release(
    session: Session, agreement: Agreement, sender: str, body: Any, *, message_id: str,
    case_id: str, now: datetime,
) -> None:  # fmt: skip
    """Casework's filing hook for statistical information: a release it carries is checked
    and stored as the partner's (ReleaseInvalid, NotFound or Conflict quarantine it)."""
    if isinstance(body, StatisticalInformation) and body.release is not None:
        release = received_release(agreement, sender, body)
        store(session, release, origin=PARTNER, actor=f"partner:{sender}", now=now,
              message_id=message_id)  # fmt: skip
