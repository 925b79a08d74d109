"""The erasure preview says what the subject's erasure request then does, item by item.

Random items (categories, holds, restrictions, some already ordered) on the real
application and schedule process, on an SQLite file: the preview is taken, the
request made, and every item's outcome compared with what the preview said.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lethe.domain.erasure_preview import Fate, fate_of
from lethe.domain.errors import ErasureAlreadyOrderedError, NotDueError
from lethe.domain.item import ErasureCause
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record

CATEGORIES = ("alarm-event", "invoice", "verification-image", "customer-identity")
ITEM = st.fixed_dictionaries(
    {
        "category": st.sampled_from(CATEGORIES),
        "held": st.booleans(),
        "restricted": st.booleans(),
        "ordered": st.booleans(),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    items=st.lists(ITEM, min_size=1, max_size=5),
    later=st.sampled_from([timedelta(minutes=10), timedelta(days=11 * 365)]),
)
def test_the_preview_says_what_the_request_then_does(
    items: list[dict[str, object]], later: timedelta
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings_ = Settings(sqlite_path=Path(folder) / "lethe.db")
        rt = build_runtime(settings_)
        at = T0 + later
        refs = [f"i{n}" for n in range(len(items))]
        records = [
            ingest_record(ref, str(item["category"]), "cust", offset=n)
            for n, (ref, item) in enumerate(zip(refs, items, strict=True))
        ]
        rt.app.ingest(records, at)
        # What the domain refuses (not yet due; already ordered, when the item
        # arrived expired) is left as it is: the preview must say that too.
        refused = (NotDueError, ErasureAlreadyOrderedError)
        for ref, item in zip(refs, items, strict=True):
            with contextlib.suppress(*refused):
                if item["ordered"]:
                    rt.app.order_erasure(ref, ErasureCause.RETENTION_EXPIRED, at)
            with contextlib.suppress(*refused):
                if item["held"]:
                    rt.app.place_hold(ref, "POL-1", "police", "t", at)
            with contextlib.suppress(*refused):
                if item["restricted"]:
                    rt.app.restrict(ref, "T-1", "contested", "t", at)
        rt.catch_up()
        policy = rt.app.policy("sector-alarm")
        said = {ref: fate_of(rt.app.get_item(ref), policy) for ref in refs}
        rt.app.request_subject_erasure(
            "sector-alarm", "cust", "c1", "asked", "t", None, at
        )
        rt.catch_up()
        for ref in refs:
            item, fate = rt.app.get_item(ref), said[ref].fate
            ordered_now = (
                item.order is not None
                and item.order["cause"] == ErasureCause.SUBJECT_ERASURE
            )
            assert ordered_now == (fate == Fate.ERASED_NOW), (ref, fate, item.order)
            if fate == Fate.KEPT_BY_LAW:
                assert item.kept_for_legal_obligation
            if fate in (Fate.HELD, Fate.RESTRICTED):
                assert item.order is None and not item.kept_for_legal_obligation
        del rt
