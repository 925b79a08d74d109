"""How big each measurement is: the full run the targets are set for, and --quick."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Sizes:
    ingest_items: int = 100_000
    partitions: int = 4
    sweep_items: int = 30_000
    erasure_subjects: int = 5
    erasure_items: int = 10_000  # per subject
    verify_events: int = 1_000_000
    rss_items: int = 1_000_000  # live items in the store lethe run starts on
    rss_window_s: float = 60.0
    scaleout_processes: int = 2
    policy_items: int = 100_000  # live items a new policy version moves
    unconfirmed_orders: int = 1_000_000  # a store down for a week

    def smaller_than_full(self, name: str) -> bool:
        """Whether a figure's size is below what the full run measures."""
        return getattr(self, name) < getattr(FULL, name)

    def override(self, assignments: list[str]) -> Sizes:
        """Apply "name=value" pairs, e.g. "verify_events=2000000"."""
        kinds = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        values = {}
        for assignment in assignments:
            name, _, raw = assignment.partition("=")
            if name not in kinds:
                raise ValueError(f"no size {name!r}; sizes: {', '.join(kinds)}")
            values[name] = kinds[name](raw.replace("_", ""))
        return replace(self, **values)


FULL = Sizes()
QUICK = Sizes(
    ingest_items=10_000,
    sweep_items=5_000,
    erasure_subjects=3,
    erasure_items=1_000,
    verify_events=100_000,
    rss_items=50_000,
    rss_window_s=15.0,
    policy_items=10_000,
    unconfirmed_orders=100_000,
)
