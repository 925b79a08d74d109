"""The disposal report's HTML sections: tables, the chart, delays, holds, requests."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from lethe.projections.audit_report_labels import label

BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 22, 6, 420, 820
COLOURS = {
    "RETENTION_EXPIRED": "#3b6ea5",
    "SUBJECT_ERASURE": "#c46b2d",
    "ARRIVED_EXPIRED": "#6a9f58",
}


def t(value: Any) -> str:
    if isinstance(value, datetime):
        # To the second, with the offset: 2026-12-02 01:00:00 +01:00.
        return escape(
            value.strftime("%Y-%m-%d %H:%M:%S ")
            + value.strftime("%z")[:3]
            + ":"
            + value.strftime("%z")[3:]
        )
    return "-" if value is None else escape(str(value))


def deadline(value: datetime) -> str:
    """A deadline is the instant its last day ends: local midnight reads as that day."""
    if (value.hour, value.minute, value.second) == (0, 0, 0):
        return f"end of {(value - timedelta(days=1)):%Y-%m-%d}"
    return t(value)


def table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="n">{value}</td>' if number else f"<td>{t(value)}</td>"


def span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} d"


def _durations(summary: dict[str, Any]) -> tuple[Any, ...]:
    return (summary["items"], *(span(summary[k]) for k in ("p50_s", "p95_s", "max_s")))


def controllers(rows: list[dict[str, Any]]) -> str:
    return table(
        ("controller", "name", "policy in force", "deleted", "not found", "requests"),
        [
            (
                r["controller"],
                r["name"],
                r["policy"],
                r["deleted"],
                r["not_found"],
                r["requests"],
            )
            for r in rows
        ],
    )


def delays(doc: dict[str, Any], lang: str) -> list[str]:
    rows = [
        (
            r["category"],
            *_durations(r["due_to_order"]),
            *_durations(r["order_to_confirmation"])[1:],
            ", ".join(
                f"{label(reason, lang)}: {n}"
                for reason, n in r["orders_by_reason"].items()
            )
            or "-",
        )
        for r in doc["delays_by_category"]
        if r["due_to_order"]["items"] or r["order_to_confirmation"]["items"]
    ]
    late = span(doc["late_after_s"])
    return [
        "<h2>How long erasure took</h2>",
        "<p>Due → order: retention orders only (a subject's request is not due by"
        f" a rule). An order is late when it came more than {late} (the sweep"
        " interval and its slack) after the item fell due; each is explained."
        " Order → confirmation: every order confirmed this month.</p>",
        table(
            (
                "category",
                "orders",
                "due→order p50",
                "p95",
                "max",
                "order→confirmed p50",
                "p95",
                "max",
                "orders: on time / why late",
            ),
            rows or [("none", 0, "-", "-", "-", "-", "-", "-", "-")],
        ),  # fmt: skip
        "<p>All retention erasures, due → confirmed: "
        + " / ".join(
            f"{k} {v}"
            for k, v in zip(
                ("items", "p50", "p95", "max"),
                _durations(doc["due_to_confirmed_erasure"]),
                strict=True,
            )
        )
        + ". Confirmations stamped before their order or due time (a store's"
        " clock behind Lethe's), left out of the figures: "
        + f"{doc['clocks_disagree']}.</p>",
    ]


def holds(doc: dict[str, Any], lang: str) -> list[str]:
    def rows(holds: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (
                h["case"],
                label(h["on"], lang) + (f" {h['item']}" if h["item"] else ""),
                t(h["since"]),
                h["by"],
                t(h["released"]),
                h["released_by"] or "-",
            )
            for h in holds
        ]

    headers = ("case", "on", "since", "by", "released", "released by")
    return [
        "<h2>Legal holds</h2>",
        "<h3>In force at the end of the month</h3>",
        table(headers, rows(doc["in_force_at_month_end"]) or [("none",) + ("",) * 5]),
        "<h3>Released during the month</h3>",
        table(headers, rows(doc["released_in_month"]) or [("none",) + ("",) * 5]),
    ]


def requests(requests: dict[str, Any], lang: str) -> list[str]:
    totals = table(
        ("received", "answered", "on time", "late", "open", "open, overdue"),
        [
            (
                requests["received"],
                requests["answered"],
                requests["answered_on_time"],
                requests["answered_late"],
                requests["open"],
                requests["overdue"],
            )
        ],
    )
    each = table(
        ("request", "ticket", "controller", "received", "deadline", "orders made",
         "answered (all erased or kept with a reason)", "outcome", "erased",
         "kept by law (until)", "held", "days late"),
        [
            (
                r["request_id"],
                r["ticket"] or "-",
                r["controller"],
                t(r["received"]),
                deadline(r["extended_to"] or r["answer_due"])
                + (" (extended)" if r["extended_to"] else ""),
                t(r["orders_made"]),
                t(r["answered"]),
                label(r["outcome"], lang),
                r["items_erased"],
                f"{r['items_kept_by_law']} ({t(r['kept_until'])})"
                if r["items_kept_by_law"]
                else "0",
                r["items_held"],
                r["days_late"] if r["days_late"] is not None else "-",
            )
            for r in requests["each"]
        ],
    )  # fmt: skip
    return [
        "<h2>Subject erasure requests (GDPR art. 17)</h2>",
        "<p>A request is answered when every item it covers is confirmed erased,"
        " kept by law, or kept under a legal hold (art. 17(3)(e)) or a"
        " restriction (art. 18); the orders alone do not answer it.</p>",
        totals,
        each,
    ]


def dead_letters(dead: dict[str, Any], lang: str) -> list[str]:
    """Records set aside on the dead-letter topic: counts by reason and topic."""
    rows = [
        (label(r["reason_code"], lang), r["reason_code"], r["topic"], r["letters"])
        for r in dead["by_reason_and_topic"]
    ]
    return [
        f"<h2>Records set aside (dead letters): {dead['total']}</h2>",
        "<p>Inbound records Lethe refused and put on the dead-letter topic this"
        " month, counted from Lethe's own note of each (origin, reason code, time:"
        " no contents); the topic deletes the letters themselves after days.</p>",
        table(
            ("reason", "code", "source topic", "records"),
            rows or [("none",) * 3 + (0,)],
        ),
    ]


def chart(rows: list[dict[str, Any]], lang: str) -> str:
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
        name = escape(f"{r['category']} ({label(r['cause'], lang)})")
        bars.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{name}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}"'
            f' fill="{colour}"><title>{name}: {r["items"]}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 16}">{r["items"]}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}"'
        f' height="{height}" font-size="13" role="img"'
        f' aria-label="items erased per category and cause">{"".join(bars)}</svg>'
    )
