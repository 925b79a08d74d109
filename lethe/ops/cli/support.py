"""What every lethe command shares: one-line user errors, instants, tables."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from click.exceptions import NoArgsIsHelpError

from lethe.domain.errors import NotKnownError

# rich (~30 ms) and the error classes of Kafka and the stores (~400 ms) are
# imported where they are used: the CLI must start fast (cli/lazy.py).
if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, Group
    from rich.table import Column, Table

PROG = "lethe"
CREATE_FLAG = "lethe.create"  # ctx.meta key: the root's --create was given
USER_ERROR_EXIT = 2
NOT_KNOWN_EXIT = 3  # the subject or item named is unknown (to that controller)


class UserError(click.ClickException):
    """Shown as the single stderr line `lethe: <message>`, exit code 2."""

    exit_code = USER_ERROR_EXIT

    def show(self, file: Any = None) -> None:
        click.echo(f"{PROG}: {self.format_message()}", file=file or sys.stderr)


class NotKnownUserError(UserError):
    """As `UserError`, exit code 3: nothing by that id (for that controller)."""

    exit_code = NOT_KNOWN_EXIT


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake raised inside the block into a `UserError`."""
    try:
        yield
    except NoArgsIsHelpError:
        raise  # `lethe retention` alone: click prints that group's help
    except (click.exceptions.Exit, click.Abort, UserError):
        raise  # --help, --version, Ctrl-C, or a message already in one line
    except NotKnownError as error:
        raise NotKnownUserError(_one_line(error)) from None
    except Exception as error:
        # Only now: these classes come from modules that are slow to import.
        from lethe.ops.cli.failures import USER_ERRORS, environment_problem

        if isinstance(error, USER_ERRORS):
            raise UserError(_one_line(error)) from None
        problem = environment_problem(error)
        if problem is None:
            raise  # a bug in Lethe: keep the traceback
        raise UserError(problem) from None


class LetheGroup(click.Group):
    """A click group whose commands report user errors as one line, exit 2.

    Parsing (`make_context`) and running (`invoke`) are both covered, so a bad
    option, a missing one, an unknown command and a domain refusal all read
    the same. Nested groups need not use this class: the root's `invoke`
    runs theirs.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with user_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with user_errors():
            return super().invoke(ctx)


def _one_line(error: Exception) -> str:
    if isinstance(error, click.UsageError):
        message = error.format_message()
        if error.ctx is not None and not _says_what_to_write(error):
            message += f" (see '{error.ctx.command_path} --help')"
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.splitlines())


def _says_what_to_write(error: click.UsageError) -> bool:
    # A bad value's message already says what to write; a missing option or an
    # unknown command is better answered by the help text.
    return isinstance(error, click.BadParameter) and not isinstance(
        error, click.MissingParameter
    )


# --- Instants ------------------------------------------------------------------


class InstantType(click.ParamType):
    """An ISO-8601 timestamp WITH a UTC offset, returned as an aware UTC datetime.

    A timestamp without an offset is refused rather than read in some zone: the
    same wall-clock time names different instants in Oslo and in UTC, and a
    support person asking "when will this be deleted" must not get an answer
    that is an hour off.
    """

    name = "instant"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        try:
            if isinstance(value, datetime):  # a default given as a datetime
                return _aware_utc(value, value.isoformat())
            return parse_instant(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


INSTANT = InstantType()


# Instants a command accepts. Python's calendar ends at year 9999, and retention
# arithmetic adds decades to what it is given; nothing an alarm centre holds was
# captured before 1970. Outside this range a value is a typo, not a date.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def parse_instant(text: str) -> datetime:
    """Read an ISO-8601 timestamp with a UTC offset; ValueError says what is wrong."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        if str(error).startswith("Invalid isoformat string"):
            raise ValueError(
                f"{text!r} is not an ISO-8601 timestamp "
                "(write e.g. 2026-03-25T12:00:00+01:00 or 2026-03-25T11:00:00Z)"
            ) from None
        # fromisoformat's reason: "day is out of range for month" and the like.
        raise ValueError(f"{text} is not a real date and time ({error})") from None
    return _aware_utc(parsed, text)


def _aware_utc(parsed: datetime, text: str) -> datetime:
    if parsed.utcoffset() is None:
        raise ValueError(_no_offset(text, parsed))
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        instant = None
    if instant is None or not EARLIEST_INSTANT <= instant < LATEST_INSTANT:
        raise ValueError(
            f"{text} is out of range: write an instant from "
            f"{format_instant(EARLIEST_INSTANT)} to before "
            f"{format_instant(LATEST_INSTANT)}"
        )
    return instant


def _no_offset(text: str, parsed: datetime) -> str:
    stem = parsed.isoformat()
    return f"{text} has no UTC offset; write e.g. {stem}+01:00 or {stem}Z"


def format_instant(instant: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, in UTC; a fraction of a second only when there is one.

    Nothing is rounded. Due instants inherit captured_at's millisecond
    precision, so a due time of 10:00:00.250 prints as `...T10:00:00.250Z`,
    not `...T10:00:00Z`: an instant that a support person reads back, or a
    script compares, must be the exact one Lethe acts on. Whole seconds, the
    usual case, print without a fraction; sub-millisecond parts (never from
    Avro timestamp-millis) print as microseconds.
    """
    if instant.utcoffset() is None:
        raise ValueError(f"expected an aware instant, got naive {instant.isoformat()}")
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec=exact_timespec(utc)) + "Z"


def exact_timespec(instant: datetime, coarsest: str = "seconds") -> str:
    """The `isoformat` timespec that shows every non-zero part of `instant`."""
    if instant.microsecond % 1000:
        return "microseconds"
    if instant.microsecond:
        return "milliseconds"
    if coarsest == "minutes" and instant.second:
        return "seconds"
    return coarsest


# --- Time zones ----------------------------------------------------------------


class ZoneType(click.ParamType):
    """An IANA time zone name (Europe/Oslo, UTC), checked against the tz database."""

    name = "zone"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: "../x", ""
            self.fail(
                f"{text!r} is not an IANA time zone (write e.g. Europe/Oslo or UTC)",
                param,
                ctx,
            )
        return text


ZONE = ZoneType()


# --- Output --------------------------------------------------------------------


MIN_CUT_WIDTH = 20  # narrower than this, a cut column says too little


def new_table(*headers: str) -> Table:
    """A kubectl-like table: upper-case headers, a rule under them, no borders."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(header.upper(), header_style="bold", no_wrap=True)
    return table


def echo_table(table: Table) -> None:
    """Print any rich table: fitted to the terminal on a TTY, whole when piped.

    On a terminal, the LAST column is cut (with an ellipsis) to fit the window,
    so put long free text there; columns left wrappable (`no_wrap=False`, best
    with a `min_width`) wrap when that is not enough. A window too narrow even
    then gets one block per row (psql's `\\x auto`). Piped: no colour, no
    cutting, no trailing blanks, so grep, awk and less see every character.
    """
    stdout = sys.stdout
    if not stdout.isatty():
        _echo_whole(table)
        return
    console = _console(stdout)
    console.print(table if _fit(table, console) else _expanded(table))


def _echo_whole(table: Table) -> None:
    buffer = io.StringIO()
    _console(buffer, width=_UNLIMITED, color_system=None).print(table)
    for line in buffer.getvalue().splitlines():
        click.echo(line.rstrip())


def _console(file: IO[str], **options: Any) -> Console:
    from rich.console import Console

    # Text from policy files is data: "[...]" is not markup, ":x:" not an emoji.
    return Console(file=file, markup=False, emoji=False, highlight=False, **options)


_UNLIMITED = 10_000


def _fit(table: Table, console: Console) -> bool:
    """Narrow `table`'s columns so that it fits `console`; False if it cannot."""
    from rich.measure import Measurement

    wide = console.options.update_width(_UNLIMITED)
    natural = [_natural_width(column, console, wide) for column in table.columns]
    # Padding and borders: whatever the whole table needs beyond its contents.
    overhead = Measurement.get(console, wide, table).maximum - sum(natural)
    excess = sum(natural) + overhead - console.width
    if excess <= 0:
        return True
    *others, last = table.columns
    cut = min(excess, max(0, natural[-1] - MIN_CUT_WIDTH))
    widths = _squeeze(others, natural[:-1], excess - cut)
    if widths is None:
        return False
    for column, width, full in zip(others, widths, natural, strict=False):
        column.width = width if width < full else column.width
    last.no_wrap, last.overflow, last.max_width = True, "ellipsis", natural[-1] - cut
    return True


def _squeeze(columns: list[Column], widths: list[int], excess: int) -> list[int] | None:
    """Take `excess` cells from the wrappable columns, widest first."""
    widths = list(widths)
    floors = [
        _floor(column, width) for column, width in zip(columns, widths, strict=True)
    ]
    for _ in range(excess):
        slack = [
            (w, i) for i, (w, f) in enumerate(zip(widths, floors, strict=True)) if w > f
        ]
        if not slack:
            return None
        widths[max(slack)[1]] -= 1
    return widths


def _natural_width(column: Column, console: Console, wide: ConsoleOptions) -> int:
    from rich.measure import Measurement

    cells = [column.header, *column.cells]
    return max(Measurement.get(console, wide, cell).maximum for cell in cells)


def _floor(column: Column, natural: int) -> int:
    if column.no_wrap or column.min_width is None:
        return natural
    return min(natural, column.min_width)


def _expanded(table: Table) -> Group:
    from rich.console import Group, RenderableType
    from rich.table import Table

    headers = [str(column.header) for column in table.columns]
    rows = zip(*(column.cells for column in table.columns), strict=True)
    blocks: list[RenderableType] = [table.title] if table.title else []
    for row in rows:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for header, cell in zip(headers, row, strict=True):
            grid.add_row(header, cell)
        blocks += [grid, ""]
    return Group(*blocks[:-1])
