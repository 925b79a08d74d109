"""Commands loaded only when invoked: `lethe --help` imports none of them.

Each command's module pulls in what it needs (eventsourcing, kafka, fastavro,
fastapi, ...), ~0.5 s of imports in all. The root group lists every command
from a map of name -> (where it lives, its short help) and imports a module
only when its command runs (or its own `--help` is asked for).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click

from lethe.ops.cli.support import LetheGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command lives (`package.module:attribute`) and its one-line help.

    `short_help` is the first sentence of the command's docstring, as click
    would make it; a unit test keeps the two equal.
    """

    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(LetheGroup):
    """A root group whose commands are `Lazy` entries, imported on first use.

    A name with a space (`"audit report"`) is a subcommand that another
    module adds to a group (`audit`) when that group is loaded.
    """

    def __init__(self, *args: Any, lazy: dict[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        top = {name for name in self.lazy if " " not in name}
        return sorted(top | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return self.commands.get(cmd_name)
        command = self.lazy[cmd_name].load()
        for name, entry in self.lazy.items():
            parent, _, sub = name.partition(" ")
            if parent == cmd_name and sub and isinstance(command, click.Group):
                command.add_command(entry.load(), sub)
        self.add_command(command, cmd_name)
        return command

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        """The command list from the map alone: nothing is imported for it."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = [(name, self._short_help(name, limit)) for name in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _short_help(self, name: str, limit: int) -> str:
        if name in self.lazy:
            # Shortened to fit as click shortens a loaded command's help.
            stand_in = click.Command(name, help=self.lazy[name].short_help)
            return stand_in.get_short_help_str(limit)
        return self.commands[name].get_short_help_str(limit)
