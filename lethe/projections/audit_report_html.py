"""The disposal report as one self-contained HTML file with an inline SVG chart."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from lethe.projections.audit_report_html_parts import (
    chart,
    controllers,
    dead_letters,
    delays,
    holds,
    requests,
    t,
    table,
)
from lethe.projections.audit_report_labels import label

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "p{max-width:60em}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}"
    "td,th{border-bottom:1px solid #ccc;padding:0.25em 0.8em;text-align:left;"
    "vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".partial{background:#fff3cd;padding:0.5em;border:1px solid #e0c060}"
    "code{font-size:0.85em;word-break:break-all}"
)


def render_html(doc: dict[str, Any], lang: str = "en") -> str:
    """Figures and references only; never a person, a pseudonym or a blob.

    Every instant is shown in the report's zone, the month's own clock.
    """
    doc = _local(doc, ZoneInfo(doc["zone"]))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}"><head><meta charset="utf-8">',
            f"<title>Lethe disposal report {escape(doc['month'])}</title>",
            f"<style>{STYLE}</style></head><body>",
            *_heading(doc),
            *_erasures(doc, lang),
            *delays(doc, lang),
            *holds(doc, lang),
            *requests(doc["requests"], lang),
            *dead_letters(doc["dead_letters"], lang),
            *_open(doc, lang),
            "</body></html>",
        ]
    )


def _local(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone)
    if isinstance(value, dict):
        return {k: _local(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [_local(v, zone) for v in value]
    return value


def _heading(doc: dict[str, Any]) -> list[str]:
    partial = (
        [
            '<p class="partial"><strong>PARTIAL: the month had not ended when this'
            " report was generated; its figures will change.</strong></p>"
        ]
        if doc["partial"]
        else []
    )
    return [
        f"<h1>Disposal report, {escape(doc['month'])}</h1>",
        *partial,
        f"<p>Month in {escape(doc['zone'])}: {t(doc['start'])} to {t(doc['end'])}."
        f" Replayed {doc['events_replayed']} events from the event store."
        f" Generated {t(doc['generated_at'])}.</p>",
        f"<p>Integrity: <code>{escape(doc['integrity'])}</code> (SHA-256 of this"
        " file with these 64 digits as zeros; <code>lethe audit report --check"
        " FILE</code>)</p>",
    ]


def _erasures(doc: dict[str, Any], lang: str) -> list[str]:
    changes = doc["policy_changes_applied"]
    return [
        "<h2>Controllers and policies in force</h2>",
        controllers(doc["controllers"]),
        "<p>Policy versions applied to live items this month: "
        + (
            escape(", ".join(f"{ref} ({n} items)" for ref, n in changes.items()))
            if changes
            else "none"
        )
        + ".</p>",
        f"<h2>Items erased: {doc['erased_total']}</h2>",
        chart(doc["erased"], lang),
        table(
            ("category", "cause", "items"),
            [
                (r["category"], label(r["cause"], lang), r["items"])
                for r in doc["erased"]
            ],
        ),
        "<h3>By category (every category of the policies, zeros included)</h3>",
        table(
            ("category", label("DELETED", lang), label("NOT_FOUND", lang)),
            [
                (r["category"], r["deleted"], r["not_found"])
                for r in doc["erased_by_category"]
            ],
        ),
        "<h3>By store</h3>",
        table(
            ("category", "store", "outcome", "items"),
            [
                (r["category"], r["store"], label(r["outcome"], lang), r["items"])
                for r in doc["erased_by_store"]
            ],
        ),
        "<p>Tombstones the relay had sent on the item topics for this month's"
        f" orders and re-sends when the report was made: {doc['tombstones_sent']}"
        " (withheld orders not counted).</p>",
    ]


def _open(doc: dict[str, Any], lang: str) -> list[str]:
    return [
        "<h2>Open at the end of the month</h2>",
        _counts(doc["open_at_month_end"], lang),
        table(
            ("item", "rule", "overdue since"),
            [
                (o["item"], o["rule"], t(o["overdue_since"]))
                for o in doc["overdue_items"]
            ],
        ),
        "<h2>Invariant violations during the month</h2>",
        _counts(doc["violations_in_month"], lang),
    ]


def _counts(counts: dict[str, int], lang: str) -> str:
    rows = [(label(name, lang), n) for name, n in counts.items()]
    return table(("check", "count"), rows or [("none", 0)])
