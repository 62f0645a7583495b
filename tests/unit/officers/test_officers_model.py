"""Roles and permissions without a database: the full role/action matrix, scoping, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.officers.model import (
    NODE_WIDE,
    PERMISSIONS,
    Action,
    Grant,
    NotAuthorised,
    Officer,
    Role,
    allowed_actions,
    may,
    require,
)

# The whole permission table, written out: changing PERMISSIONS means changing this, on purpose.
# Columns: officer, reviewer, supervisor, dpo, auditor, administrator, statistician, analyst.
# x = allowed, . = not.
MATRIX = """
create-request         x . . . . . . x
send-request           x . . . . . . x
withdraw-request       x . . . . . . .
answer-clarification   x . . . . . . .
send-notice            x . . . . . . .
review-incoming        . x x . . . . .
decide                 . x . . . . . .
consult                x x . . . . . .
view-case              x x x x . . . x
view-personal-data     x x x . . . . .
assign-case            . . x . . . . .
view-inbox             x x x . . . . .
view-outbox            x . x . . . . .
view-overdue           x x x . . . . .
retry-delivery         . . x . . . . .
subject-report         . . . x . . . .
view-disclosures       . . . x . . . .
run-retention          . . . x . . . .
view-audit             . . . x x . . .
verify-audit           . . . x x . . .
view-security-log      . . . . x x . .
view-statistics        x x x x . . x .
release-statistics     . . x . . . x .
run-channels           . . . . . . . x
view-leads             . . . . . . . x
decide-lead            . . . . . . . x
manage-users           . . . . . x . .
import-registry        . . . . . x . .
manage-keys            . . . . . x . .
operate-delivery       . . . . . x . .
"""
COLUMNS = (
    Role.OFFICER,
    Role.REVIEWER,
    Role.SUPERVISOR,
    Role.DATA_PROTECTION_OFFICER,
    Role.AUDITOR,
    Role.ADMINISTRATOR,
    Role.STATISTICIAN,
    Role.ANALYST,
)
HOSTED = "kz-mia"
OTHER = "kz-mlsp"


def expected() -> dict[tuple[Role, Action], bool]:
    table: dict[tuple[Role, Action], bool] = {}
    for line in MATRIX.strip().splitlines():
        action, *marks = line.split()
        assert len(marks) == len(COLUMNS), line
        for role, mark in zip(COLUMNS, marks, strict=True):
            table[Role(role), Action(action)] = mark == "x"
    return table


def officer(*grants: tuple[Role, str], active: bool = True) -> Officer:
    return Officer(1, "aram", "Aram H.", frozenset(Grant(r, a) for r, a in grants), active)


def scope(action: Action) -> str | None:
    return None if action in NODE_WIDE else HOSTED


def test_the_matrix_names_every_role_and_every_action_once() -> None:
    names = [line.split()[0] for line in MATRIX.strip().splitlines()]
    assert sorted(names) == sorted(Action)
    assert set(COLUMNS) == set(Role) == set(PERMISSIONS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_exactly_what_the_matrix_says(role: Role, action: Action) -> None:
    assert may(officer((role, HOSTED)), action, scope(action)) is expected()[role, action]


def test_separation_of_duties() -> None:
    def holders(action: Action) -> set[Role]:
        return {role for role, actions in PERMISSIONS.items() if action in actions}

    # Whoever asks a partner for data does not decide what partners ask of us.
    assert not holders(Action.CREATE_REQUEST) & holders(Action.DECIDE)
    # Running the node never shows personal data nor decides cases.
    admin = PERMISSIONS[Role.ADMINISTRATOR]
    assert not admin & {Action.VIEW_PERSONAL_DATA, Action.DECIDE, Action.SUBJECT_REPORT}
    # Auditors read the logs and nothing else.
    assert PERMISSIONS[Role.AUDITOR] <= {
        Action.VIEW_AUDIT,
        Action.VERIFY_AUDIT,
        Action.VIEW_SECURITY_LOG,
    }
    # The data-protection officer watches disclosures but decides nothing.
    assert Action.DECIDE not in PERMISSIONS[Role.DATA_PROTECTION_OFFICER]
    # Statisticians work on aggregates: no case, no person, no log.
    assert PERMISSIONS[Role.STATISTICIAN] == {
        Action.VIEW_STATISTICS,
        Action.RELEASE_STATISTICS,
    }
    # The analyst decides leads, never what partners ask of us, and reads no case's messages.
    assert not PERMISSIONS[Role.ANALYST] & {Action.DECIDE, Action.VIEW_PERSONAL_DATA}


def test_a_role_counts_only_for_its_authority() -> None:
    reviewer = officer((Role.REVIEWER, HOSTED))
    assert may(reviewer, Action.DECIDE, HOSTED)
    assert not may(reviewer, Action.DECIDE, OTHER)
    both = officer((Role.REVIEWER, HOSTED), (Role.OFFICER, OTHER))
    assert may(both, Action.CREATE_REQUEST, OTHER)
    assert not may(both, Action.CREATE_REQUEST, HOSTED)


def test_node_wide_actions_need_the_role_for_any_authority() -> None:
    assert may(officer((Role.ADMINISTRATOR, OTHER)), Action.MANAGE_USERS, None)
    assert not may(officer((Role.OFFICER, OTHER)), Action.MANAGE_USERS, None)


def test_mixing_up_the_scope_is_a_programming_error() -> None:
    admin = officer((Role.ADMINISTRATOR, HOSTED))
    with pytest.raises(ValueError, match="node-wide"):
        may(admin, Action.MANAGE_USERS, HOSTED)
    with pytest.raises(ValueError, match="needs the authority"):
        may(admin, Action.DECIDE, None)


def test_a_disabled_officer_may_do_nothing() -> None:
    disabled = officer(*((role, HOSTED) for role in Role), active=False)
    assert not any(may(disabled, action, scope(action)) for action in Action)
    assert allowed_actions(disabled) == {}


def test_require_raises_not_authorised() -> None:
    auditor = officer((Role.AUDITOR, HOSTED))
    require(auditor, Action.VERIFY_AUDIT, None)
    with pytest.raises(NotAuthorised, match="aram may not view-personal-data for kz-mia") as e:
        require(auditor, Action.VIEW_PERSONAL_DATA, HOSTED)
    assert e.value.status == 403


def test_allowed_actions_groups_by_authority() -> None:
    allowed = allowed_actions(officer((Role.AUDITOR, HOSTED), (Role.OFFICER, OTHER)))
    assert allowed["*"] == sorted(PERMISSIONS[Role.AUDITOR])
    assert allowed[OTHER] == sorted(PERMISSIONS[Role.OFFICER])
    assert HOSTED not in allowed


def test_roles_parse_by_value_or_full_title() -> None:
    assert Role("dpo") is Role("data-protection-officer") is Role.DATA_PROTECTION_OFFICER
    with pytest.raises(ValueError, match="'clerk' is not a valid Role"):
        Role("clerk")


grants = st.frozensets(
    st.builds(Grant, st.sampled_from(list(Role)), st.sampled_from([HOSTED, OTHER])), max_size=6
)


@given(grants, grants, st.sampled_from(list(Action)), st.sampled_from([HOSTED, OTHER]))
def test_more_roles_never_take_a_permission_away(
    some: frozenset[Grant], more: frozenset[Grant], action: Action, authority: str
) -> None:
    where = None if action in NODE_WIDE else authority
    fewer = Officer(1, "a", "A", some)
    wider = Officer(1, "a", "A", some | more)
    assert not may(fewer, action, where) or may(wider, action, where)
