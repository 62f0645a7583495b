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
    queues,
    requests,
    search,
    signin,
    statistics,
)

router = APIRouter()
for part in (assets, signin, queues, cases, requests, search, audit, disclosures, admin,
             statistics, leads, linkage):  # fmt: skip
    router.include_router(part.router)
