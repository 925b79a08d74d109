"""A run of one row update as a single PostgreSQL statement over arrays.

The schedule view's item events each update their item's row
(`UPDATE lethe_schedule SET ... WHERE item_id = ?`), and a sweep's catch-up
reads 1,000 orders a page: psycopg's `executemany` spends ~40 µs of Python a
row on them. The same run as one `UPDATE ... FROM unnest(arrays)` is one
statement with one parameter an array.

It is the same change only when the rows are distinct and every value is a
plain `str` or `int`, so the arrays have one type each: anything else (a key
twice in the run, a None, a bool) is left to `executemany`, statement by
statement as before. tests/integration/test_row_updates.py applies random runs
both ways on PostgreSQL and compares the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ARRAY_TYPES = {str: "text", int: "bigint"}  # exact types: bool is not an int here


@dataclass(frozen=True)
class RowUpdate:
    """`UPDATE table SET assignments WHERE key = ?`: the assignments' `?` first,
    the key last, as the statement's parameters."""

    table: str
    assignments: str
    key: str = "item_id"

    @property
    def sql(self) -> str:
        return f"UPDATE {self.table} SET {self.assignments} WHERE {self.key} = ?"

    def as_one(self, rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]] | None:
        """The run as one statement in psycopg's `%s` style, or None."""
        columns = list(zip(*rows, strict=True))
        types = [_array_type(column) for column in columns]
        if not columns or None in types or len(set(columns[-1])) != len(rows):
            return None
        names = [f"p{i}" for i in range(len(columns) - 1)]
        assignments = self.assignments.replace("%", "%%")
        for name in names:
            assignments = assignments.replace("?", f"v.{name}", 1)
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        sql = (
            f"UPDATE {self.table} AS t SET {assignments}"
            f" FROM unnest({arrays}) AS v({', '.join([*names, 'k'])})"
            f" WHERE t.{self.key} = v.k"
        )
        return sql, [list(column) for column in columns]


def _array_type(column: Sequence[Any]) -> str | None:
    kind = type(column[0])
    if kind not in ARRAY_TYPES or any(type(v) is not kind for v in column):
        return None
    return ARRAY_TYPES[kind]


# The runs a PostgreSQL recorder may send as one statement, by their SQL.
BY_SQL: dict[str, RowUpdate] = {}


def register(update: RowUpdate) -> RowUpdate:
    BY_SQL[update.sql] = update
    return update
