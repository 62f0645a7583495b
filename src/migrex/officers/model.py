"""Who may do what: roles, actions and the permission table, with no I/O.

Every role an officer holds is held *for* one hosted competent authority: a reviewer of the
Ministry of Internal Affairs decides that ministry's incoming requests, not the Ministry of
Labour's. `may` is the one place that reads `PERMISSIONS`; every entry point asks it (through
`require`) before a use case runs, and the use case names the officer as its actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from migrex.errors import MigrexError


class NotAuthenticated(MigrexError):
    type_slug = "not-authenticated"
    title = "Authentication is required"
    status = 401
    # RFC 9110 §11.6.1: a 401 names the scheme the client should use.
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="migrex"'}


class NotAuthorised(MigrexError):
    type_slug = "not-authorised"
    title = "The officer's roles do not allow this action"
    status = 403


class Role(StrEnum):
    OFFICER = "officer"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    DATA_PROTECTION_OFFICER = "dpo"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"
    STATISTICIAN = "statistician"
    ANALYST = "analyst"

    @classmethod
    def _missing_(cls, value: object) -> Role | None:
        # Accept the spelled-out title too: `--role data-protection-officer@kz-mia`.
        if value == "data-protection-officer":
            return cls.DATA_PROTECTION_OFFICER
        return None


class Action(StrEnum):
    # Outgoing casework: the requesting side.
    CREATE_REQUEST = "create-request"
    SEND_REQUEST = "send-request"
    WITHDRAW_REQUEST = "withdraw-request"
    ANSWER_CLARIFICATION = "answer-clarification"
    SEND_NOTICE = "send-notice"  # violation notices; statistical, legal, methodological info
    # Incoming casework: the requested side. DECIDE covers fulfil, partial fulfilment,
    # refusal, asking for clarification and co-signing a consultation's outcome.
    REVIEW_INCOMING = "review-incoming"
    DECIDE = "decide"
    CONSULT = "consult"  # add findings to a joint legal-status consultation
    # Reading and steering cases.
    VIEW_CASE = "view-case"  # case, its state and deadlines, without personal data
    VIEW_PERSONAL_DATA = "view-personal-data"
    ASSIGN_CASE = "assign-case"
    VIEW_INBOX = "view-inbox"
    VIEW_OUTBOX = "view-outbox"
    VIEW_OVERDUE = "view-overdue"
    RETRY_DELIVERY = "retry-delivery"  # release a parked outgoing message
    # Data protection.
    SUBJECT_REPORT = "subject-report"
    VIEW_DISCLOSURES = "view-disclosures"  # the disclosure ledger
    RUN_RETENTION = "run-retention"
    # Analytics: leads of illegal-migration channels found in the node's registers.
    RUN_CHANNELS = "run-channels"
    VIEW_LEADS = "view-leads"  # the lead cards, which name member records
    DECIDE_LEAD = "decide-lead"  # open a lead as a request, or dismiss it with a reason
    # Proof.
    VIEW_AUDIT = "view-audit"
    VERIFY_AUDIT = "verify-audit"
    VIEW_SECURITY_LOG = "view-security-log"
    # Statistics.
    VIEW_STATISTICS = "view-statistics"
    RELEASE_STATISTICS = "release-statistics"
    # Running the node.
    MANAGE_USERS = "manage-users"
    IMPORT_REGISTRY = "import-registry"
    MANAGE_KEYS = "manage-keys"
    # The node's delivery as a whole: the outbox and inbox counts, and re-issuing or
    # discarding a message that awaits an operator (what `migrex outbox` does on the host).
    OPERATE_DELIVERY = "operate-delivery"


# Actions on the node as a whole rather than on one authority's cases: the audit log, the
# registries and the keys are the node's. Holding the role for any hosted authority grants them.
NODE_WIDE: frozenset[Action] = frozenset(
    {
        Action.VIEW_AUDIT,
        Action.VERIFY_AUDIT,
        Action.VIEW_SECURITY_LOG,
        Action.RUN_RETENTION,
        Action.MANAGE_USERS,
        Action.IMPORT_REGISTRY,
        Action.MANAGE_KEYS,
        Action.OPERATE_DELIVERY,
    }
)

_A = Action
# Separation of duties: whoever asks a partner for data does not decide what the partner
# asks of us; whoever runs the node (users, registries, keys) sees no personal data and
# decides nothing; whoever checks the logs can do nothing else.
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OFFICER: frozenset(
        {
            _A.CREATE_REQUEST,
            _A.SEND_REQUEST,
            _A.WITHDRAW_REQUEST,
            _A.ANSWER_CLARIFICATION,
            _A.SEND_NOTICE,
            _A.CONSULT,
            _A.VIEW_CASE,
            _A.VIEW_PERSONAL_DATA,
            _A.VIEW_INBOX,
            _A.VIEW_OUTBOX,
            _A.VIEW_OVERDUE,
            _A.VIEW_STATISTICS,
        }
    ),
    Role.REVIEWER: frozenset(
        {
            _A.REVIEW_INCOMING,
            _A.DECIDE,
            _A.CONSULT,
            _A.VIEW_CASE,
            _A.VIEW_PERSONAL_DATA,
            _A.VIEW_INBOX,
            _A.VIEW_OVERDUE,
            _A.VIEW_STATISTICS,
        }
    ),
    # Supervisors oversee: they see all of their authority's work, steer it and unblock
    # deliveries, and release statistics on its behalf, but neither ask nor decide.
    Role.SUPERVISOR: frozenset(
        {
            _A.REVIEW_INCOMING,
            _A.VIEW_CASE,
            _A.VIEW_PERSONAL_DATA,
            _A.ASSIGN_CASE,
            _A.VIEW_INBOX,
            _A.VIEW_OUTBOX,
            _A.VIEW_OVERDUE,
            _A.RETRY_DELIVERY,
            _A.VIEW_STATISTICS,
            _A.RELEASE_STATISTICS,
        }
    ),
    # The data-protection officer answers data subjects and watches disclosures; a subject
    # report shows that subject's data only, so no general VIEW_PERSONAL_DATA.
    Role.DATA_PROTECTION_OFFICER: frozenset(
        {
            _A.VIEW_CASE,
            _A.SUBJECT_REPORT,
            _A.VIEW_DISCLOSURES,
            _A.RUN_RETENTION,
            _A.VIEW_AUDIT,
            _A.VERIFY_AUDIT,
            _A.VIEW_STATISTICS,
        }
    ),
    # Audit leaves hold hashes and references only, so auditors never see personal data.
    Role.AUDITOR: frozenset({_A.VIEW_AUDIT, _A.VERIFY_AUDIT, _A.VIEW_SECURITY_LOG}),
    Role.ADMINISTRATOR: frozenset(
        {
            _A.MANAGE_USERS,
            _A.IMPORT_REGISTRY,
            _A.MANAGE_KEYS,
            _A.OPERATE_DELIVERY,
            _A.VIEW_SECURITY_LOG,
        }
    ),
    # Statisticians release the authority's aggregate figures and read the partners': no
    # case, no person, nothing else.
    Role.STATISTICIAN: frozenset({_A.VIEW_STATISTICS, _A.RELEASE_STATISTICS}),
    # The analyst reviews channel leads and decides each: a request to the partner, made
    # through the same casework path as any officer's, or a dismissal with a reason. The
    # machine ranks and explains; it decides nothing.
    Role.ANALYST: frozenset(
        {
            _A.RUN_CHANNELS,
            _A.VIEW_LEADS,
            _A.DECIDE_LEAD,
            _A.CREATE_REQUEST,
            _A.SEND_REQUEST,
            _A.VIEW_CASE,
        }
    ),
}


@dataclass(frozen=True, order=True)
class Grant:
    """One role held for one hosted authority."""

    role: Role
    authority: str

    def __str__(self) -> str:
        return f"{self.role}@{self.authority}"


@dataclass(frozen=True)
class Officer:
    id: int
    username: str
    display_name: str
    grants: frozenset[Grant]
    active: bool = True

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.grants)

    @property
    def authorities(self) -> frozenset[str]:
        """The authorities the officer works for."""
        return frozenset(grant.authority for grant in self.grants)

    @property
    def actor(self) -> str:
        """How use cases and the audit log name this officer."""
        return f"officer:{self.username}"


def may(officer: Officer, action: Action, authority: str | None) -> bool:
    """Whether the officer may take `action` for `authority`.

    `authority` is None exactly for NODE_WIDE actions; mixing the two is a programming error
    (ValueError), so a route cannot widen an authority-scoped check by forgetting its authority.
    """
    if (action in NODE_WIDE) != (authority is None):
        scope = "is node-wide" if action in NODE_WIDE else "needs the authority it acts for"
        raise ValueError(f"action {action} {scope}")
    if not officer.active:
        return False
    return any(
        action in PERMISSIONS[grant.role] and (authority is None or grant.authority == authority)
        for grant in officer.grants
    )


def require(officer: Officer, action: Action, authority: str | None) -> None:
    """Raises NotAuthorised unless `may` allows it."""
    if not may(officer, action, authority):
        where = f" for {authority}" if authority is not None else ""
        raise NotAuthorised(f"{officer.username} may not {action}{where}")


def allowed_actions(officer: Officer) -> dict[str, list[Action]]:
    """Per authority the officer works for, the actions allowed there (node-wide ones under '*')."""
    allowed: dict[str, set[Action]] = {}
    for grant in officer.grants if officer.active else ():
        for action in PERMISSIONS[grant.role]:
            allowed.setdefault("*" if action in NODE_WIDE else grant.authority, set()).add(action)
    return {scope: sorted(actions) for scope, actions in sorted(allowed.items())}


def authorities_for(
    officer: Officer, action: Action, hosted: tuple[str, ...] | list[str], only: str | None
) -> list[str]:
    """The hosted authorities for which the officer may take `action`: just `only` when given
    (NotAuthorised unless allowed), else every one allowed (NotAuthorised if none is)."""
    if only is not None:
        require(officer, action, only)
        return [only]
    allowed = [authority for authority in hosted if may(officer, action, authority)]
    if not allowed:
        raise NotAuthorised(f"{officer.username} may not {action} for any authority of this node")
    return allowed
