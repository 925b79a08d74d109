"""Percentiles of many durations in constant memory, for the disposal report."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

# Durations are kept as a log-scale histogram, not a list: a national ARC erases
# ~150 M items a month. Buckets are 0.5 % wide, so p50/p95 are within 0.5 %.
BUCKETS_PER_E = 200
# Up to this many, the values themselves are kept and the percentiles are exact
# (nearest rank): a small month's report names real durations, not bucket edges.
EXACT_UP_TO = 10_000


class Durations:
    """Percentiles of many durations in constant memory; the maximum is exact."""

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0
        self.max = 0.0
        self.exact: list[float] | None = []

    def add(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.buckets[round(math.log1p(seconds) * BUCKETS_PER_E)] += 1
        self.count += 1
        self.max = max(self.max, seconds)
        if self.exact is not None:
            self.exact.append(seconds)
            if len(self.exact) > EXACT_UP_TO:
                self.exact = None

    def percentile(self, p: float) -> float | None:
        """Nearest rank: the smallest bucket holding at least p % of the values."""
        if not self.count:
            return None
        rank, seen = max(math.ceil(p / 100 * self.count), 1), 0
        if self.exact is not None:
            return sorted(self.exact)[rank - 1]
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(math.expm1(bucket / BUCKETS_PER_E), self.max)
        return self.max

    def summary(self) -> dict[str, Any]:
        return {
            "items": self.count,
            "p50_s": _round(self.percentile(50)),
            "p95_s": _round(self.percentile(95)),
            "max_s": _round(self.max if self.count else None),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
