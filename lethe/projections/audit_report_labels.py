"""The disposal report's words: one table of readable labels, English and Norwegian.

The JSON keeps the codes (stable, for machines); the HTML shows these labels,
so a DPO reads "retention period ended", not RETENTION_EXPIRED.
"""

from __future__ import annotations

LANGUAGES = ("en", "no")

LABELS: dict[str, tuple[str, str]] = {
    # erasure causes
    "RETENTION_EXPIRED": ("retention period ended", "oppbevaringstiden utløp"),
    "SUBJECT_ERASURE": (
        "the subject asked to be erased",
        "den registrerte ba om sletting",
    ),
    "ARRIVED_EXPIRED": (
        "arrived after its retention ended",
        "kom inn etter at oppbevaringstiden var ute",
    ),
    "NO_ORDER": ("erased without an order", "slettet uten ordre"),
    # store outcomes
    "DELETED": ("deleted", "slettet"),
    "NOT_FOUND": ("not found in the store", "ikke funnet i lageret"),
    # why an order came late
    "on_time": ("on time", "i tide"),
    "arrived_late": ("arrived after it was due", "kom inn etter forfall"),
    "held": ("under legal hold when due", "under rettslig hold ved forfall"),
    "restricted": (
        "processing restricted when due",
        "behandling begrenset ved forfall",
    ),
    "missed_by_sweep": (
        "a sweep passed it over (ORDERED_LATE)",
        "en sletterunde hoppet over den (ORDERED_LATE)",
    ),
    "no_sweep": (
        "no sweep ran in time (Lethe down or lease gap)",
        "ingen sletterunde i tide (Lethe nede eller uten lease)",
    ),
    # request outcomes
    "erased": ("erased and confirmed", "slettet og bekreftet"),
    "erased_some_kept": ("erased; some kept by law", "slettet; noe beholdt etter lov"),
    "kept_by_law": ("kept by law until due", "beholdt etter lov til forfall"),
    "waiting_on_holds": (
        "waiting on holds or restrictions",
        "venter på hold eller begrensninger",
    ),
    "awaiting_confirmation": (
        "ordered, not all confirmed",
        "beordret, ikke alt bekreftet",
    ),
    "open": ("not answered", "ikke besvart"),
    "nothing_to_erase": ("nothing to erase", "ingenting å slette"),
    # open checks and violations (audit verify's names)
    "OVERDUE_WITHOUT_ORDER": ("overdue, not ordered", "forfalt, ikke beordret"),
    "ORDER_UNCONFIRMED": (
        "ordered, not confirmed in time",
        "beordret, ikke bekreftet i tide",
    ),
    "REQUEST_UNANSWERED": (
        "request not answered by its deadline",
        "forespørsel ikke besvart innen fristen",
    ),
    "REQUEST_ANSWERED_LATE": ("request answered late", "forespørsel besvart for sent"),
    "ORDERED_LATE": ("ordered late", "beordret for sent"),
    "SWEEP_MISSED": (
        "no sweep within the interval",
        "ingen sletterunde innen intervallet",
    ),
    "ORDERED_WHILE_HELD": ("ordered while held", "beordret under hold"),
    "ORDERED_WHILE_RESTRICTED": (
        "ordered while restricted",
        "beordret under begrensning",
    ),
    "ORDERED_BEFORE_DUE": ("ordered before due", "beordret før forfall"),
    "ERASED_WITHOUT_ORDER": ("erased without an order", "slettet uten ordre"),
    # holds
    "subject": ("customer", "kunde"),
    "item": ("item", "element"),
}


def label(code: str, lang: str = "en") -> str:
    """The readable label of `code`; an unknown code shows as itself."""
    pair = LABELS.get(code)
    if pair is None:
        return code
    return pair[LANGUAGES.index(lang)]
