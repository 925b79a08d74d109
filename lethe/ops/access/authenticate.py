"""One bearer token in, one principal out: a Lethe API token or an OIDC token."""

from __future__ import annotations

from datetime import datetime

from lethe.ops.access.oidc import OidcVerifier
from lethe.ops.access.roles import NotAuthenticatedError, Principal
from lethe.ops.access.tokens import PREFIX, TokenStore


class Authenticator:
    def __init__(self, tokens: TokenStore, oidc: OidcVerifier | None) -> None:
        self.tokens = tokens
        self.oidc = oidc

    def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticatedError(
                "sign in first: send 'Authorization: Bearer <token>'"
            )
        token = token.strip()
        if token.startswith(PREFIX):
            return self.tokens.authenticate(token, now)
        if self.oidc is None:
            raise NotAuthenticatedError(
                "the token is not a Lethe API token and OpenID Connect is not set up"
            )
        return self.oidc.authenticate(token)
