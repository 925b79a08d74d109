"""Roles, the principal a call is made by, and which role each action needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from lethe.domain.errors import LetheError


class Role(StrEnum):
    SUPPORT = "support"
    LEGAL = "legal"
    AUDITOR = "auditor"
    OPERATOR = "operator"
    ADMIN = "admin"


class Action(StrEnum):
    """What a call does; each needs one of the roles in PERMISSIONS."""

    LOOK_UP_SUBJECT = "look up a subject"
    LOOK_UP_ITEM = "look up an item"
    ERASE_SUBJECT = "erase a subject"
    RESTRICT = "restrict or lift processing"
    HOLD = "place or release a legal hold"
    POLICE_EXTEND = "keep an image for the police"
    AUDIT = "read the audit trail"
    VERIFY = "verify the history"
    STATUS = "read the status"
    SWEEP = "sweep"
    MANAGE_TOKENS = "manage API tokens"


# Least privilege: each role gets what its work needs and nothing else. Legal
# looks up subjects and items to place holds on them; the auditor reads items
# (audit is read-only) and the status, as the DPO page shows it.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.LOOK_UP_SUBJECT: frozenset({Role.SUPPORT, Role.LEGAL}),
    Action.LOOK_UP_ITEM: frozenset({Role.SUPPORT, Role.LEGAL, Role.AUDITOR}),
    Action.ERASE_SUBJECT: frozenset({Role.SUPPORT}),
    Action.RESTRICT: frozenset({Role.SUPPORT}),
    Action.HOLD: frozenset({Role.LEGAL}),
    Action.POLICE_EXTEND: frozenset({Role.LEGAL}),
    Action.AUDIT: frozenset({Role.AUDITOR}),
    Action.VERIFY: frozenset({Role.AUDITOR}),
    Action.STATUS: frozenset({Role.OPERATOR, Role.AUDITOR}),
    Action.SWEEP: frozenset({Role.OPERATOR}),
    Action.MANAGE_TOKENS: frozenset({Role.ADMIN}),
}


class AccessError(LetheError):
    """A call refused for who makes it; the message says what is missing."""


class NotAuthenticatedError(AccessError):
    """No credentials, or credentials that do not verify (HTTP 401)."""


class RoleRequiredError(AccessError):
    """An authenticated principal without the role the action needs (HTTP 403)."""

    def __init__(self, principal: Principal, action: Action) -> None:
        needed = " or ".join(sorted(PERMISSIONS[action]))
        super().__init__(
            f"{principal.name} may not {action.value}: that needs the role {needed}"
        )


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as written in a setting or an option; an unknown one is refused."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise AccessError(f"no role {name!r}; the roles are {known}") from None
    return frozenset(roles)


@dataclass(frozen=True)
class Principal:
    """Who makes a call, as the events record it: `token:kari` or `oidc:<sub>`."""

    name: str
    roles: frozenset[Role]

    def may(self, action: Action) -> bool:
        return bool(self.roles & PERMISSIONS[action])

    def require(self, action: Action) -> None:
        if not self.may(action):
            raise RoleRequiredError(self, action)
