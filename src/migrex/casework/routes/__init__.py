"""The officers' casework API: thin routes over the casework use cases, one module per
part of the work (requests, decisions, the requesting side's steps, the exchange's view).

Every route names its authority (in the path, or through the case it acts on) and checks the
officer's permission for it inside the unit of work the use case runs in; every action
records the officer.
"""

from __future__ import annotations

from fastapi import APIRouter

from migrex.casework.routes import consultation, decisions, exchange, requests
from migrex.casework.routes.dependencies import CaseworkSetup, consultation_keys_of
from migrex.officers.api import PROBLEM_RESPONSES

__all__ = ["CaseworkSetup", "consultation_keys_of", "router"]

router = APIRouter(prefix="/v1", tags=["casework"], responses=PROBLEM_RESPONSES)
for part in (requests, decisions, consultation, exchange):
    router.include_router(part.router)
