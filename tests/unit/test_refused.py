"""Halving a refused save down to the records the store refuses, and their reason."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from eventsourcing.persistence import DataError, OperationalError
from hypothesis import given
from hypothesis import strategies as st

from lethe.consumers.refused import halving, place, reason
from lethe.consumers.shown import digest


def batches() -> st.SearchStrategy[tuple[int, set[int]]]:
    """(how many parts, which of them the store refuses)."""
    return st.integers(1, 64).flatmap(
        lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))
    )


@given(batches())
def test_every_good_part_is_saved_once_and_every_bad_one_refused_once_in_order(
    batch: tuple[int, set[int]],
) -> None:
    n, bad = batch
    done: list[tuple[str, int]] = []
    calls = 0

    def save(part: Sequence[int]) -> None:
        nonlocal calls
        calls += 1
        if bad & set(part):
            raise DataError("refused")  # and nothing of the part is kept
        done.extend(("saved", p) for p in part)

    halving(list(range(n)), save, lambda p, _error: done.append(("refused", p)))

    # In offset order: the tracking positions the saves commit only grow.
    assert [p for _what, p in done] == list(range(n))
    assert {p for what, p in done if what == "refused"} == bad
    # Cheap when little is refused: one save when nothing is.
    assert calls <= 1 + 2 * len(bad) * math.ceil(math.log2(n))


def test_an_error_that_is_not_the_record_s_fault_is_not_halved() -> None:
    saves: list[Sequence[int]] = []

    def save(part: Sequence[int]) -> None:
        saves.append(part)
        raise OperationalError("canceling statement due to lock timeout")

    with pytest.raises(OperationalError):
        halving([1, 2, 3], save, lambda _p, _e: pytest.fail("refused a record"))
    assert saves == [[1, 2, 3]]


def test_the_reason_is_the_database_s_first_line_without_the_record_s_ids() -> None:
    error = DataError(
        'value "cust-42" is out of range for type integer\n'
        "CONTEXT: PL/pgSQL function refuse() line 3 at RAISE"
    )
    assert reason(error, ["cust-42", None]) == (
        "the event store refused this record (DataError): "
        f'value "{digest("cust-42")}" is out of range for type integer'
    )


def test_the_place_names_the_partition_its_epoch_and_the_offset() -> None:
    assert place("kafka:alarm.images.v1:3", 17) == "alarm.images.v1:3@17"
    assert place("kafka:alarm.images.v1:3#2", 0) == "alarm.images.v1:3#2@0"
