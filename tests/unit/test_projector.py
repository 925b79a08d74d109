"""`lethe run`'s projection thread follows the log between sweeps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lethe.domain.item import ItemState
from lethe.ops.bootstrap import build_app
from lethe.ops.projector import Projector
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record


def test_a_subject_request_reaches_its_items_long_before_the_next_sweep(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")})
    app = build_app(settings)
    app.ingest([ingest_record("img-1", "verification-image", "cust-1")], T0)
    stop = threading.Event()
    projector = Projector(
        lambda: build_app(settings),
        lambda _app: None,
        interval_s=3600.0,  # a sweep an hour: the request must not wait for it
        stop=stop,
        clock=lambda: T0,
    )
    projector.start()
    try:
        app.request_subject_erasure(
            "sector-alarm", "cust-1", "cmd-1", "asked", "support:kari", None, T0
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if app.get_item("img-1").state == ItemState.ERASURE_ORDERED:
                break
            time.sleep(0.2)
        assert app.get_item("img-1").state == ItemState.ERASURE_ORDERED
        assert projector.failed is None
    finally:
        stop.set()
        projector.join(timeout=10)
