"""Officers: who they are, how they authenticate, and what their roles let them do.

The package's surface is the pure model; use cases live in `service`, tables in `tables`,
the FastAPI dependencies in `api` and the `migrex user` commands in `cli`.
"""

from migrex.officers.model import (
    NODE_WIDE,
    PERMISSIONS,
    Action,
    Grant,
    NotAuthenticated,
    NotAuthorised,
    Officer,
    Role,
    allowed_actions,
    may,
    require,
)

__all__ = [
    "NODE_WIDE",
    "PERMISSIONS",
    "Action",
    "Grant",
    "NotAuthenticated",
    "NotAuthorised",
    "Officer",
    "Role",
    "allowed_actions",
    "may",
    "require",
]
