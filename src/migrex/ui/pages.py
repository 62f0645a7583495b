"""The console's routes, mounted on the officers' listener (`features.officer_routers`)."""

from __future__ import annotations

from fastapi import APIRouter

from migrex.ui import (
    admin,
    assets,
    audit,
    cases,
    disclosures,
    leads,
    linkage,
    linkage_runs,
    queues,
    requests,
    search,
    signin,
    statistics,
)

router = APIRouter()
# The runs page before the candidates': `/ui/linkage/runs` would otherwise be taken for a
# candidate's page, whose id is a number, and refused as one.
for part in (assets, signin, queues, cases, requests, search, audit, disclosures, admin,
             statistics, leads, linkage_runs, linkage):  # fmt: skip
    router.include_router(part.router)
