"""`lethe token create|revoke|list`: Lethe API tokens, run where the database is."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from lethe.ops.access.roles import Role, parse_roles
from lethe.ops.access.tokens import DEFAULT_LIFETIME, TokenStore, parse_lifetime
from lethe.ops.cli.store import open_runtime
from lethe.ops.cli.support import echo_table, format_instant, new_table


def _store() -> TokenStore:
    runtime = open_runtime()
    store = TokenStore(runtime.views)
    # The views read through the application's recorder, which closes when the
    # application is collected: keep it alive as long as the store.
    store.owner = runtime
    return store


def _operator() -> str:
    # Run on the server, by someone who can reach the database: record who.
    return f"cli:{getpass.getuser()}"


@click.group()
def token() -> None:
    """API tokens for `lethe serve`: shown once, stored hashed, revocable."""


@token.command("create")
@click.option("--name", required=True, help="Whose token (e.g. kari).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="A role; repeat for several.",
)
@click.option("--expires-in", default=DEFAULT_LIFETIME, show_default=True)
def token_create(name: str, roles: tuple[str, ...], expires_in: str) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    lifetime = parse_lifetime(expires_in)
    secret = _store().create(
        name, parse_roles(roles), _operator(), datetime.now(UTC), lifetime
    )
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke TOKEN_ID (see `lethe token list`); it stops working at once."""
    info = _store().revoke(token_id, _operator(), datetime.now(UTC))
    when = format_instant(info.revoked_at) if info.revoked_at else "now"
    click.echo(f"token {info.token_id} ({info.name}) revoked at {when}")


@token.command("list")
def token_list() -> None:
    """Every token: id, name, roles, state, expiry. Never the secret."""
    now = datetime.now(UTC)
    table = new_table("id", "name", "roles", "state", "expires", "created by")
    for t in _store().list():
        expires = format_instant(t.expires_at) if t.expires_at else "never"
        table.add_row(
            t.token_id, t.name, ",".join(sorted(t.roles)), t.state(now), expires,
            t.created_by,
        )  # fmt: skip
    echo_table(table)
