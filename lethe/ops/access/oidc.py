"""OpenID Connect bearer tokens: verified against the issuer's JWKS, mapped to roles."""

from __future__ import annotations

from typing import Any

import jwt

from lethe.domain.errors import LetheError
from lethe.ops.access.roles import NotAuthenticatedError, Principal, Role
from lethe.ops.access.settings import OidcSettings

# Asymmetric only: an HS256 token would be "signed" with a key the client chose,
# and "none" is no signature at all.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


class IssuerUnavailableError(LetheError):
    """The issuer's keys cannot be fetched: Lethe's failure, not the caller's (503)."""


class OidcVerifier:
    """Verifies a JWT's signature, issuer, audience and expiry; maps its claims."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        # Caches the keys and fetches again when a token names an unknown `kid`,
        # so an issuer's key rotation needs no restart.
        self.keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, timeout=10)

    def authenticate(self, token: str) -> Principal:
        claims = self._claims(token)
        name = claims.get(self.settings.name_claim) or claims.get("sub")
        if not isinstance(name, str) or not name:
            raise NotAuthenticatedError("the OpenID Connect token names nobody")
        return Principal(f"oidc:{name}", self._roles(claims))

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise IssuerUnavailableError(
                "the OpenID Connect issuer's keys cannot be fetched from"
                f" {self.settings.jwks_url}: sign-in with it is unavailable; try"
                " again later"
            ) from None
        except jwt.PyJWTError as error:
            raise NotAuthenticatedError(
                f"the OpenID Connect token is not valid ({error})"
            ) from None

    def _roles(self, claims: dict[str, Any]) -> frozenset[Role]:
        values = claims.get(self.settings.roles_claim, [])
        values = [values] if isinstance(values, str) else values
        roles: set[Role] = set()
        for value in values if isinstance(values, list) else []:
            roles |= self.settings.role_map.get(str(value), frozenset())
        return frozenset(roles)
