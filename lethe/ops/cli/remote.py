"""The support CLI as a client of `lethe serve`: when LETHE_URL is set, support
commands call the HTTP API with a token instead of opening the store.

The token comes from LETHE_TOKEN, or from `lethe login`, which keeps it in a
file only its owner can read (under $XDG_CONFIG_HOME/lethe, or ~/.config/lethe).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from lethe.ops.cli.support import NotKnownUserError, UserError

TIMEOUT_S = 60.0


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "lethe" / "token"


@dataclass(frozen=True)
class Api:
    """One Lethe server and the token to call it with."""

    url: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer); a refusal raises the CLI's one-line error."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url.rstrip("/") + path, data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            raise _refusal(error.code, _json(error.read())) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(f"Lethe at {self.url} did not answer: {reason}") from None


def api() -> Api | None:
    """The API to call, when LETHE_URL is set; else None (the local store)."""
    url = os.environ.get("LETHE_URL", "").strip()
    if not url:
        return None
    token = os.environ.get("LETHE_TOKEN", "").strip() or _stored_token()
    if not token:
        raise UserError(
            "LETHE_URL is set but there is no token: run `lethe login` "
            "or set LETHE_TOKEN"
        )
    return Api(url, token)


def store_token(token: str) -> Path:
    """Keep `token` for later commands, readable by its owner only."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token.strip() + "\n")
    path.chmod(0o600)  # an older file may have had wider modes
    return path


def _stored_token() -> str:
    try:
        return credentials_path().read_text("utf-8").strip()
    except FileNotFoundError:
        return ""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _refusal(status: int, problem: Any) -> UserError:
    """The server's one-line `detail` (the CLI's own wording), as the CLI's error."""
    detail = problem.get("detail") if isinstance(problem, dict) else None
    text = str(detail or f"the server answered HTTP {status}")
    if status == 401:
        return UserError(f"{text}; run `lethe login` or set LETHE_TOKEN")
    return NotKnownUserError(text) if status == 404 else UserError(text)


@click.command("login")
@click.option(
    "--url",
    default=lambda: os.environ.get("LETHE_URL", ""),
    help="The server (e.g. https://lethe.arc.example) [LETHE_URL].",
)
@click.option(
    "--token",
    prompt="API token",
    hide_input=True,
    help="A token from `lethe token create` (asked for when not given).",
)
def login(url: str, token: str) -> None:
    """Check a token against the server and keep it for the support commands."""
    if not url.strip():
        raise UserError("name the server with --url or LETHE_URL")
    _, me = Api(url.strip(), token.strip()).call("GET", "/api/whoami")
    path = store_token(token)
    roles = ", ".join(me.get("roles", [])) or "none"
    click.echo(f"logged in to {url} as {me.get('principal')} (roles: {roles})")
    click.echo(f"token kept in {path}; set LETHE_URL={url} to use it")
