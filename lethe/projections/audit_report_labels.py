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
    "erased_some_kept": (
        "erased; some kept by law, a hold or a restriction",
        "slettet; noe beholdt etter lov, hold eller begrensning",
    ),
    "kept_by_law": ("kept by law until due", "beholdt etter lov til forfall"),
    "kept_under_hold": (
        "kept under a legal hold or restriction",
        "beholdt under rettslig hold eller begrensning",
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
    # why a record became a dead letter (lethe/consumers/reasons.py)
    "NOT_AVRO": ("not an Avro record", "ikke en Avro-post"),
    "UNKNOWN_SCHEMA": ("schema Lethe does not know", "skjema Lethe ikke kjenner"),
    "WRONG_RECORD_TYPE": (
        "a record of another type than the topic takes",
        "en annen posttype enn emnet tar imot",
    ),
    "UNDECODABLE": ("does not decode", "kan ikke dekodes"),
    "NULL_VALUE": ("no value", "ingen verdi"),
    "NEWER_THAN_LETHE": (
        "a value newer than this Lethe (upgrade, then replay)",
        "en verdi nyere enn denne Lethe (oppgrader, spill av igjen)",
    ),
    "UNSIGNED": ("not signed", "ikke signert"),
    "BAD_SIGNATURE": ("signature does not verify", "signaturen stemmer ikke"),
    "UNKNOWN_SIGNER": ("signed by an unknown key", "signert med ukjent nøkkel"),
    "REVOKED_SIGNER": ("signed by a revoked key", "signert med tilbakekalt nøkkel"),
    "SIGNER_NOT_ALLOWED": (
        "signer not allowed to send it",
        "signataren har ikke lov å sende den",
    ),
    "KEY_MISMATCH": ("key missing or not the record's id", "nøkkel mangler eller feil"),
    "UNKNOWN_CONTROLLER": ("unknown controller", "ukjent behandlingsansvarlig"),
    "UNKNOWN_CATEGORY": (
        "category without a rule, or not allowed",
        "kategori uten regel, eller ikke tillatt",
    ),
    "IMPLAUSIBLE_TIME": (
        "an instant too early or in the future",
        "et tidspunkt for tidlig eller i fremtiden",
    ),
    "BAD_BLOB": (
        "checksum or blob address malformed",
        "sjekksum eller blobadresse ugyldig",
    ),
    "BAD_TEXT": (
        "a text empty, too long or with control characters",
        "en tekst tom, for lang eller med kontrolltegn",
    ),
    "BAD_FIELDS": ("fields that contradict each other", "felt som motsier hverandre"),
    "FOREIGN_TOMBSTONE": (
        "a tombstone not sent by Lethe",
        "en slettemarkør som ikke kom fra Lethe",
    ),
    "CONFLICTING_REDELIVERY": (
        "the same item again with other content",
        "samme element igjen med annet innhold",
    ),
    "REFUSED": (
        "refused (no such hold, order or request)",
        "avvist (intet slikt hold, ordre eller forespørsel)",
    ),
    "STORE_REFUSED": (
        "refused by the event store on save",
        "avvist av hendelseslageret ved lagring",
    ),
    "CONTRACT": ("breaks the record contract", "bryter postkontrakten"),
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
