"""A release as a statistical-information message, and back.

The figures travel as an SDMX-CSV 2.0 attachment; the message body says which dataset,
period and version they are. The receiver rebuilds the release from its own copy of the
agreement (dimensions, codelists, producer), so a partner cannot slip in a dimension, a code
or a producer the agreement does not define: anything that does not fit is refused whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.casework.messages import SDMX_CSV, Attachment, StatisticalInformation
from migrex.stats.release import Release, ReleaseInvalid
from migrex.stats.sdmx_data import release_to_sdmx_csv
from migrex.stats.sdmx_read import release_from_sdmx_csv
from migrex.stats.service import PARTNER, dataset_of, store, template_of

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
    now: datetime,
) -> None:  # fmt: skip
    """Casework's filing hook for statistical information: a release it carries is checked
    and stored as the partner's (ReleaseInvalid, NotFound or Conflict quarantine it)."""
    if isinstance(body, StatisticalInformation) and body.release is not None:
        release = received_release(agreement, sender, body)
        store(session, release, origin=PARTNER, actor=f"partner:{sender}", now=now,
              message_id=message_id)  # fmt: skip
