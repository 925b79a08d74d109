"""`lethe bench` at a tiny size: every figure is reported, and every number is > 0.

No timing is asserted: the figures themselves are read by people, not tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

LETHE = Path(sys.executable).with_name("lethe")
TINY = {
    "ingest_items": 300,
    "sweep_items": 100,
    "erasure_subjects": 2,
    "erasure_items": 50,
    "verify_events": 2000,
    "rss_items": 1000,
    "rss_window_s": 3,
    "scaleout_processes": 2,
    "unconfirmed_orders": 2000,
}
FIGURES = (
    "ingest_items_per_s",
    "consume_decode_msgs_per_s",
    "copy_rows_per_s",
    "ingest_vs_consume",
    "ingest_vs_copy",
    "baseline_items_per_s",
    "ingest_vs_baseline",
    "sweep_orders_per_s",
    "sweep_beside_relay_orders_per_s",
    "baseline_sweep_orders_per_s",
    "sweep_vs_baseline",
    "subject_erasure_p50_s",
    "subject_erasure_p99_s",
    "subject_erasure_beside_relay_p99_s",
    "verify_events_per_s",
    "run_peak_rss_mb",
    "unconfirmed_peak_rss_mb",
    "unconfirmed_rss_ratio",
    "scaleout_1_items_per_s",
    "scaleout_2_items_per_s",
    "scaleout_2_vs_1",
)


def test_a_tiny_bench_reports_every_figure_with_positive_numbers(
    tmp_path: Path,
) -> None:
    out, markdown = tmp_path / "bench.json", tmp_path / "performance.md"
    sizes = [
        arg for name, value in TINY.items() for arg in ("--size", f"{name}={value}")
    ]
    groups = ["ingest", "sweep", "erasure", "verify", "rss", "unconfirmed", "scaleout"]
    only = [arg for group in groups for arg in ("--only", group)]
    done = subprocess.run(
        [
            str(LETHE),
            "bench",
            "--runs",
            "1",
            *only,
            *sizes,
            "--json",
            str(out),
            "--markdown",
            str(markdown),
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())["figures"]
    assert set(FIGURES) <= figures.keys()
    for key in FIGURES:
        figure = figures[key]
        assert figure["median"] > 0 and all(run > 0 for run in figure["runs"]), key
    assert "| figure |" in markdown.read_text()


def test_a_tiny_policy_bench_moves_every_item_it_plans_to(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [str(LETHE), "bench", "--runs", "1", "--only", "policy",
         "--size", "policy_items=2000", "--json", str(out)],
        env=dict(os.environ), capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    (run,) = document["details"]["policy"]["runs"]
    # Every filled item moves: images later, arming logs earlier.
    assert run["planned_moves"] == run["moved"] == 2000
    for key in ("policy_what_if_s", "policy_apply_items_per_s"):
        assert document["figures"][key]["median"] > 0, key
