"""Access settings (LETHE_OIDC_*, LETHE_FOUR_EYES, LETHE_HTTP_*), read from the env."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lethe.ops.access.roles import AccessError, Role, parse_roles
from lethe.ops.settings import SettingsError

FOUR_EYES_ACTIONS = ("erase-subject", "release-hold")


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks_url: str
    roles_claim: str = "groups"
    name_claim: str = "preferred_username"
    # A claim value (an Entra ID group id, a Keycloak role) -> the Lethe roles it gives.
    role_map: Mapping[str, frozenset[Role]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessSettings:
    oidc: OidcSettings | None = None
    four_eyes: frozenset[str] = frozenset()
    http_host: str = "127.0.0.1"
    http_port: int = 8080

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AccessSettings:
        port = env.get("LETHE_HTTP_PORT", "").strip() or str(cls.http_port)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"LETHE_HTTP_PORT={port!r} is not a port number")
        return cls(
            oidc=_oidc(env),
            four_eyes=_four_eyes(env.get("LETHE_FOUR_EYES", "")),
            http_host=env.get("LETHE_HTTP_HOST", "").strip() or cls.http_host,
            http_port=int(port),
        )


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    names = ("LETHE_OIDC_ISSUER", "LETHE_OIDC_AUDIENCE", "LETHE_OIDC_JWKS_URL")
    given = [env.get(name, "").strip() for name in names]
    if not any(given):
        return None
    if not all(given):
        missing = ", ".join(n for n, v in zip(names, given, strict=True) if not v)
        raise SettingsError(f"OpenID Connect needs {missing} as well")
    return OidcSettings(
        issuer=given[0],
        audience=given[1],
        jwks_url=given[2],
        roles_claim=env.get("LETHE_OIDC_ROLES_CLAIM", "").strip() or "groups",
        name_claim=env.get("LETHE_OIDC_NAME_CLAIM", "").strip() or "preferred_username",
        role_map=parse_role_map(env.get("LETHE_OIDC_ROLE_MAP", "")),
    )


def parse_role_map(text: str) -> dict[str, frozenset[Role]]:
    """`arc-support=support,arc-dpo=auditor+legal`; a value may give several roles."""
    mapping: dict[str, frozenset[Role]] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        claim, equals, roles = pair.rpartition("=")
        if not equals or not claim.strip():
            raise SettingsError(
                f"LETHE_OIDC_ROLE_MAP: {pair!r} is not CLAIM_VALUE=ROLE[+ROLE]"
            )
        try:
            mapping[claim.strip()] = parse_roles(roles.split("+"))
        except AccessError as error:
            raise SettingsError(f"LETHE_OIDC_ROLE_MAP: {error}") from None
    return mapping


def _four_eyes(text: str) -> frozenset[str]:
    chosen = frozenset(a.strip().lower() for a in text.split(",") if a.strip())
    if chosen == {"all"}:
        return frozenset(FOUR_EYES_ACTIONS)
    unknown = sorted(chosen - set(FOUR_EYES_ACTIONS))
    if unknown:
        raise SettingsError(
            f"LETHE_FOUR_EYES: {', '.join(unknown)} cannot need a second person;"
            f" choose from {', '.join(FOUR_EYES_ACTIONS)} or all"
        )
    return chosen
