"""Which store a command opens, whether it may create it, and saying so."""

from __future__ import annotations

import click

from lethe.ops.cli.support import CREATE_FLAG
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.preflight import check_store, describe_store
from lethe.ops.settings import Settings


def may_create() -> bool:
    """True when this command line asked for a new store with `lethe --create`."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().meta.get(CREATE_FLAG))


def opened_settings(
    settings: Settings | None = None, *, create: bool = False
) -> Settings:
    """The settings, once the store they name is there (or may be made) and answers.

    Only `run`, `demo` and `serve` pass `create`; any other needs `lethe --create`.
    """
    settings = settings or Settings.from_env()
    check_store(settings, create=create or may_create())
    return settings


def open_runtime(settings: Settings | None = None) -> Runtime:
    return build_runtime(opened_settings(settings))


def name_store(settings: Settings) -> None:
    """Say on stderr which store a change went to, once it is made.

    An operator in the wrong directory sees it before trusting the answer;
    stdout stays the answer alone, for scripts.
    """
    click.echo(f"store: {describe_store(settings)}", err=True)
