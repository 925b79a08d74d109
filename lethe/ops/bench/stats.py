"""A figure: the runs of one measurement, their median and spread, and its target."""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

COMPARE = {">=": operator.ge, "<": operator.lt, "<=": operator.le, ">": operator.gt}


@dataclass(frozen=True)
class Target:
    """`value op bound`, e.g. items/s >= 5000."""

    op: str
    bound: float

    def met(self, value: float) -> bool:
        return COMPARE[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.op.replace('>=', '≥').replace('<=', '≤')} {self.bound:,g}"


@dataclass
class Figure:
    """One row of the table: the runs of a measurement and what they are held to."""

    key: str
    label: str
    unit: str
    size: str  # what was measured, e.g. "100,000 items, 4 partitions"
    runs: list[float] = field(default_factory=list)
    target: Target | None = None
    quick: bool = False  # smaller than the full figure asks for

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def meets(self) -> bool | None:
        return None if self.target is None else self.target.met(self.median)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = str(self.target) if self.target else None
        out.update(median=self.median, min=min(self.runs), max=max(self.runs))
        out["meets"] = self.meets
        return out


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: p99 of ten values is the largest."""
    ranked = sorted(values)
    rank = max(1, -(-len(ranked) * pct // 100))
    return ranked[int(rank) - 1]


Say = Callable[[str], None]  # progress lines for the operator


def rounded(value: float) -> float:
    """Three significant digits: what the spread of a shared machine allows."""
    return float(f"{value:.3g}")
