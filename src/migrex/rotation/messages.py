"""The `directory-update` message: a proposed directory version, the partner's
countersignature of it, or why the partner declined it. Pure.

The body carries the signed directory as its parties signed it (public keys, endpoints, trust
anchors: no personal data) and a stage; the stages answer each other through `in_reply_to`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from migrex.directory import DirectoryInvalid

DIRECTORY_UPDATE: Final = "directory-update"


class Stage(StrEnum):
    PROPOSAL = "proposal"
    """A party proposes the next version, signed by it."""
    COUNTERSIGNED = "countersigned"
    """The partner has checked, countersigned and installed it: the signed version back."""
    DECLINED = "declined"
    """The partner will not countersign it, and says why (no directory)."""


class DirectoryUpdate(BaseModel):
    """The body of a `directory-update` message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(DIRECTORY_UPDATE, pattern=f"^{DIRECTORY_UPDATE}$")
    stage: Stage
    agreement_id: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=1)
    directory: dict[str, Any] | None = None
    reason: str | None = Field(None, max_length=2000)

    def as_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_update(payload: object) -> DirectoryUpdate:
    """The update in a received body; DirectoryInvalid naming the fields at fault (never
    their content) when it is malformed or a stage lacks what it needs."""
    try:
        update = DirectoryUpdate.model_validate(payload)
    except ValidationError as error:
        # An unexpected field is named by the partner: say there is one, never its name.
        places = sorted({
            "an unexpected field" if item["type"] == "extra_forbidden"
            else ".".join(str(p) for p in item["loc"]) or "body"
            for item in error.errors()
        })  # fmt: skip
        raise DirectoryInvalid(f"malformed directory-update: {', '.join(places)}") from None
    if (update.stage is Stage.DECLINED) == (update.directory is not None):
        raise DirectoryInvalid(f"a {update.stage} directory-update carries the wrong parts")
    return update
