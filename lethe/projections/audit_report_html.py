"""The disposal report as one self-contained HTML file with an inline SVG chart."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 22, 6, 330, 720
COLOURS = {
    "RETENTION_EXPIRED": "#3b6ea5",
    "SUBJECT_ERASURE": "#c46b2d",
    "ARRIVED_EXPIRED": "#6a9f58",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:60em}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "td,th{border-bottom:1px solid #ccc;padding:0.25em 0.8em;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
)


_OUTCOMES = {"DELETED": "deleted", "NOT_FOUND": "not found in the store"}


def render_html(doc: dict[str, Any]) -> str:
    """Figures only: counts, categories, rules, durations; never a person or a blob."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Lethe disposal report {escape(doc['month'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Disposal report, {escape(doc['month'])}</h1>",
        f"<p>Month in {escape(doc['zone'])}: {_t(doc['start'])} to {_t(doc['end'])}."
        f" Replayed {doc['events_replayed']} events from the event store."
        f" Generated {_t(doc['generated_at'])}.</p>",
        f"<p>Integrity: <code>{escape(doc['integrity'])}</code> (SHA-256 of this"
        " file with these 64 digits as zeros; `lethe audit report --check`)</p>",
        *(
            [
                "<p><strong>PARTIAL: the month had not ended when this report was"
                " generated; its figures will change.</strong></p>"
            ]
            if doc["partial"]
            else []
        ),
        f"<h2>Items erased: {doc['erased_total']}</h2>",
        _chart(doc["erased"]),
        _table(
            ("category", "cause", "items"),
            [(r["category"], r["cause"], r["items"]) for r in doc["erased"]],
        ),
        f"<p>Policies in force: {escape(', '.join(doc['policies']))}.</p>",
        _table(
            ("category", "deleted", "not found in the store"),
            [
                (r["category"], r["deleted"], r["not_found"])
                for r in doc["erased_by_category"]
            ],
        ),
        _table(
            ("category", "store", "outcome", "items"),
            [
                (
                    r["category"],
                    r["store"],
                    _OUTCOMES.get(r["outcome"], r["outcome"]),
                    r["items"],
                )
                for r in doc["erased_by_store"]
            ],
        ),  # fmt: skip
        "<h2>From due to confirmed erasure</h2>",
        "<p>Retention erasures only (subject requests are not due by a rule).</p>",
        _table(
            ("items", "p50", "p95", "max"),
            [_durations(doc["due_to_confirmed_erasure"])],
        ),
        "<h2>Legal holds</h2>",
        _table(("what", "count"), list(doc["holds"].items()) or [("none", 0)]),
        "<h2>Subject erasure requests (GDPR art. 17)</h2>",
        _requests(doc["requests"]),
        "<h2>Open at the end of the month</h2>",
        _table(
            ("check", "count"), list(doc["open_at_month_end"].items()) or [("none", 0)]
        ),
        _table(
            ("item", "rule", "overdue since"),
            [
                (o["item"], o["rule"], _t(o["overdue_since"]))
                for o in doc["overdue_items"]
            ],
        ),
        "<h2>Invariant violations during the month</h2>",
        _table(
            ("check", "count"),
            list(doc["violations_in_month"].items()) or [("none", 0)],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _t(value: Any) -> str:
    if isinstance(value, datetime):
        return escape(value.isoformat())
    return "-" if value is None else escape(str(value))


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="n">{value}</td>' if number else f"<td>{_t(value)}</td>"


def _durations(summary: dict[str, Any]) -> tuple[Any, ...]:
    return (summary["items"], *(_span(summary[k]) for k in ("p50_s", "p95_s", "max_s")))


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} d"


def _requests(requests: dict[str, Any]) -> str:
    totals = _table(
        ("received", "answered", "on time", "late", "open"),
        [
            (
                requests["received"],
                requests["answered"],
                requests["answered_on_time"],
                requests["answered_late"],
                requests["open"],
            )
        ],
    )
    each = _table(
        ("request", "ticket", "received", "answer due", "answered", "days", "on time"),
        [
            (
                r["request_id"],
                r["ticket"] or "-",
                _t(r["received"]),
                _t(r["extended_to"] or r["answer_due"])
                + (" (extended)" if r["extended_to"] else ""),
                _t(r["answered"]),
                r["days_to_answer"] if r["days_to_answer"] is not None else "-",
                {True: "yes", False: "LATE", None: "open"}[r["on_time"]],
            )
            for r in requests["each"]
        ],
    )
    return totals + each


def _chart(rows: list[dict[str, Any]]) -> str:
    """Horizontal bars, one per (category, cause), scaled to the largest."""
    if not rows:
        return "<p>No item was erased this month.</p>"
    top = max(r["items"] for r in rows)
    height = len(rows) * (BAR_HEIGHT + BAR_GAP)
    bars = []
    for i, r in enumerate(rows):
        y = i * (BAR_HEIGHT + BAR_GAP)
        width = max(1, round((CHART_WIDTH - LABEL_WIDTH - 60) * r["items"] / top))
        colour = COLOURS.get(r["cause"], "#888")
        label = escape(f"{r['category']} ({r['cause']})")
        bars.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}"'
            f' fill="{colour}"><title>{label}: {r["items"]}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 16}">{r["items"]}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}"'
        f' height="{height}" font-size="13" role="img"'
        f' aria-label="items erased per category and cause">{"".join(bars)}</svg>'
    )
