"""The results as JSON and as a markdown table (spliced into a file between markers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lethe.ops.bench.stats import Figure

BEGIN = "<!-- lethe bench: begin (generated, do not edit) -->"
END = "<!-- lethe bench: end -->"


def as_json(
    figures: list[Figure], details: dict[str, Any], context: dict[str, Any]
) -> str:
    out = {**context, "figures": {f.key: f.as_json() for f in figures}}
    return json.dumps(out | {"details": details}, indent=2, default=str)


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | median | spread (min–max) | runs | target | met | measured on |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for f in figures:
        unit = f" {f.unit}" if f.unit != "ratio" else ""
        met = {True: "yes", False: "**no**", None: ""}[f.meets]
        size = f.size + (
            " (**quick: smaller than the full figure**)" if f.quick else ""
        )
        lines.append(
            f"| {f.label} | {number(f.median, f.unit)}{unit} | "
            f"{number(min(f.runs), f.unit)}–{number(max(f.runs), f.unit)} | "
            f"{len(f.runs)} | {f.target or ''} | {met} | {size} |"
        )
    return "\n".join(lines)


def number(value: float, unit: str) -> str:
    if unit in ("ratio", "s"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def section(figures: list[Figure], context: dict[str, Any]) -> str:
    machine = context["machine"]
    return "\n".join(
        [
            BEGIN,
            f"Measured {context['finished_at']} with `{context['command']}` "
            f"(commit {machine['commit']}).",
            f"Machine: {machine['nproc']} cores ({machine['cpu']}), "
            f"{machine['memory_gb']} GB, PostgreSQL {machine['postgresql']}, "
            f"Python {machine['python']}; load average at start "
            f"{machine['load_at_start']}, at end {context['load_at_end']}.",
            "",
            table(figures),
            END,
        ]
    )


def splice(path: Path, text: str) -> None:
    """Replace the generated section of `path`, or add one (creating the file)."""
    old = path.read_text() if path.exists() else "# Performance\n"
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        new = head + text + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)
