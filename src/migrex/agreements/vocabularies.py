"""The codes the agreements' statistics and the registries share: purposes of stay, permit
types and violation types. They live with the agreements, the kernel every feature checks its
work against, so the registries' import checks and the statistics codelists agree by
construction and neither imports the other."""

from __future__ import annotations

PURPOSES_OF_STAY = frozenset({"work", "study", "family", "private", "business", "tourism"})
PERMIT_TYPES = frozenset(
    {"work_permit", "eaeu_worker", "temporary_residence", "permanent_residence", "student"}
)
VIOLATION_TYPES = frozenset(
    {"overstay", "no_registration", "illegal_employment", "forged_document", "illegal_entry",
     "false_invitation", "smuggling_facilitation", "purpose_mismatch"}
)  # fmt: skip
