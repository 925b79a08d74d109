"""`audit verify` in N processes, each replaying one part of the streams.

Every invariant is judged on one stream's own events (see audit_verify), or on
an item's and its subject's (audit_across), so the log is split into parts of
whole streams by originator id (`Part`): each worker replays its part and the
subject events of every stream, judges both kinds of check in that one replay,
and the parts' results are merged. Each worker keeps the tracks of its own
part only: about 1/N of a single pass's memory per process, so a store too big
for one pass's memory can be verified by more.

Workers are started by `spawn` and build their own application from the same
Settings (database and schema included): a psycopg pool must never cross a
fork. The parent creates the tables first; a worker's application only reads.
SQLite is verified in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from lethe.domain.application import Lethe
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from lethe.projections.audit_across import judged, verify_whole
from lethe.projections.audit_replay import Part
from lethe.projections.audit_verify import VerifyLimits, VerifyResult

Progress = Callable[[int], None]
POLL_S = 0.5  # how often the parent looks for a worker that died without a word

# A worker's queue for progress: set once per process by the pool's initializer,
# since a multiprocessing queue can only reach a worker when the worker starts.
_ticks: Any = None


def default_workers(settings: Settings) -> int:
    """One worker per CPU this process may use on PostgreSQL; one on SQLite."""
    if settings.store != "postgres":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def verify_store(
    settings: Settings,
    limits: VerifyLimits,
    workers: int = 1,
    page_size: int = 5000,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify the whole log in `workers` processes (one: in this process).

    `progress` hears of every page read, from whichever worker read it. Either
    way the violations come sorted by instant (see `merge`).
    """
    if workers == 1:
        return _verify_part(build_app(settings), limits, None, page_size, progress)
    if workers < 1 or settings.store != "postgres":
        raise ValueError(f"{workers} workers: parts need PostgreSQL and 1 or more")
    build_app(settings).close()  # creates the tables of a new store, as one pass does
    context = multiprocessing.get_context("spawn")
    ticks = context.Queue() if progress is not None else None
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_started, initargs=(ticks,)
    ) as pool:
        futures = [
            pool.submit(_work, settings, limits, Part(k, workers), page_size)
            for k in range(workers)
        ]
        if ticks is not None and progress is not None:
            _relay(ticks, progress, futures)
        return judged([future.result() for future in futures], limits)


def _verify_part(
    app: Lethe,
    limits: VerifyLimits,
    part: Part | None,
    page_size: int,
    progress: Progress | None,
) -> VerifyResult:
    try:
        return verify_whole(app, limits, progress, page_size, part)
    finally:
        app.close()


# -- in the workers ----------------------------------------------------------------


def _started(ticks: Any) -> None:
    global _ticks
    _ticks = ticks


def _work(
    settings: Settings, limits: VerifyLimits, part: Part, page_size: int
) -> VerifyResult:
    if _ticks is None:
        return _verify_part(_reader(settings), limits, part, page_size, None)
    try:
        return _verify_part(_reader(settings), limits, part, page_size, _ticks.put)
    finally:
        _ticks.put(None)  # after its last page, in order: this part is done


def _reader(settings: Settings) -> Lethe:
    """An application that only reads the log: no vault, no policies, and no
    CREATE TABLE, which two sessions at once may fail ("tuple concurrently
    updated") even when the tables exist."""
    env = settings.eventsourcing_env() | {"CREATE_TABLE": "false"}
    return Lethe(env=env, policies={}, vault=None)


# -- in the parent -----------------------------------------------------------------


def _relay(ticks: Any, progress: Progress, futures: list[Future[VerifyResult]]) -> None:
    """Pass the workers' pages on until every part has said it is done."""
    done = 0
    while done < len(futures):
        try:
            pages = ticks.get(timeout=POLL_S)
        except queue.Empty:
            for future in futures:
                if future.done() and future.exception() is not None:
                    return  # died without its last word: result() raises
            continue
        if pages is None:
            done += 1
        else:
            progress(pages)
