"""`lethe serve`: start the HTTP API (lethe/ops/http/) on uvicorn; nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import uvicorn

from lethe.ops.access.settings import AccessSettings
from lethe.ops.access.tokens import TokenStore
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.ledger import reapply_before_serving

# An import string, not an import: cli/ and http/ never import each other, and
# uvicorn builds the application in the process that serves it.
APP_FACTORY = "lethe.ops.http.app:from_env"


@click.command()
@click.option("--host", default=None, help="Address to listen on [LETHE_HTTP_HOST].")
@click.option("--port", type=int, default=None, help="Port [LETHE_HTTP_PORT, 8080].")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json)."""
    runtime = build_runtime()
    # Before the first request: a key restored with the database dies again.
    click.echo(reapply_before_serving(runtime.settings, runtime.app).line())
    access = AccessSettings.from_env(runtime.settings.env or {})
    if runtime.settings.store == "sqlite":
        _first_admin_token(TokenStore(runtime.views))
    host = host or access.http_host
    port = access.http_port if port is None else port
    click.echo(f"console: {console_address(host, port)} (sign in with an API token)")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        # Paths carry item ids, never subject ids; still, the log is JSON elsewhere
        # and uvicorn's access lines would be the only free-form ones.
        access_log=False,
    )


def console_address(host: str, port: int) -> str:
    """The console's address, as a browser on this machine opens it."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"


def default_console_address(env: dict[str, str]) -> str:
    access = AccessSettings.from_env(env)
    return console_address(access.http_host, access.http_port)


def _first_admin_token(tokens: TokenStore) -> None:
    token = tokens.create_first_admin(datetime.now(UTC))
    if token is None:
        return
    click.echo("first admin token (shown this once; Lethe keeps only its digest):")
    click.echo(f"  {token}")
    click.echo("create the others with it: lethe token create --name NAME --role ROLE")
