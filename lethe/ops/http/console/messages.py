"""The console's one message catalogue: every label in English and Norwegian (bokmål).

Templates never hold words of their own: they ask `t("key")`. A key missing
from a language is a bug the unit test finds, not an empty label on a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGUAGES = ("en", "nb")
DEFAULT = "en"

# key: (English, bokmål); laid out by hand, the two side by side.
# fmt: off
MESSAGES: Mapping[str, tuple[str, str]] = {
    "lethe": ("Lethe", "Lethe"),
    "console": ("Lethe console", "Lethe-konsoll"),
    "skip": ("Skip to the content", "Hopp til innholdet"),
    "nav": ("Main menu", "Hovedmeny"),
    "nav.support": ("Customers", "Kunder"),
    "nav.legal": ("Legal holds", "Rettslige pålegg"),
    "nav.dpo": ("Requests and audit", "Forespørsler og revisjon"),
    "nav.approvals": ("Approvals", "Godkjenninger"),
    "language": ("Language", "Språk"),
    "language.switch": ("Norsk", "English"),
    "signed.in.as": ("Signed in as", "Logget inn som"),
    "roles": ("roles", "roller"),
    "logout": ("Sign out", "Logg ut"),
    # login
    "login.title": ("Sign in", "Logg inn"),
    "login.token": (
        "Lethe API token or OpenID Connect bearer token",
        "Lethe API-nøkkel eller OpenID Connect-token",
    ),
    "login.hint": (
        "Paste the token you were given; it is kept in a cookie only"
        " this browser sends back.",
        "Lim inn nøkkelen du har fått; den lagres i en informasjonskapsel"
        " bare denne nettleseren sender tilbake.",
    ),
    "login.submit": ("Sign in", "Logg inn"),
    "login.signin": ("Sign in to use the console.", "Logg inn for å bruke konsollet."),
    "login.out": ("You are signed out.", "Du er logget ut."),
    "login.ended": ("Your token no longer signs you in (expired or revoked);"
                    " sign in with a new one.",
                    "Nøkkelen din gjelder ikke lenger (utløpt eller tilbakekalt);"
                    " logg inn med en ny."),
    # home
    "home.title": ("What would you like to do?", "Hva vil du gjøre?"),
    "home.none": (
        "Your roles give you no page in the console.",
        "Rollene dine gir deg ingen side i konsollet.",
    ),
    # support
    "support.title": ("Find a customer", "Finn en kunde"),
    "support.subject": ("Customer id", "Kunde-id"),
    "support.controller": ("Controller", "Behandlingsansvarlig"),
    "support.find": ("Find", "Finn"),
    "subject.title": ("Customer", "Kunde"),
    "subject.items": (
        "What Lethe holds of this customer",
        "Hva Lethe har om denne kunden",
    ),
    "subject.requests": ("Erasure requests", "Slettingsforespørsler"),
    "subject.no.requests": (
        "No erasure request yet.",
        "Ingen slettingsforespørsel ennå.",
    ),
    "subject.holds": ("Holds on the whole customer", "Pålegg på hele kunden"),
    "subject.restrictions": (
        "Restrictions on the whole customer",
        "Begrensninger på hele kunden",
    ),
    "none": ("None", "Ingen"),
    "col.item": ("Item", "Element"),
    "col.category": ("Category", "Kategori"),
    "col.state": ("State", "Tilstand"),
    "col.due": ("Due", "Forfaller"),
    "col.holds": ("Holds", "Pålegg"),
    "col.restrictions": ("Restrictions", "Begrensninger"),
    "col.request": ("Request", "Forespørsel"),
    "col.requested": ("Asked", "Mottatt"),
    "col.answer.due": ("Answer due", "Svarfrist"),
    "col.days.left": ("Days left", "Dager igjen"),
    # When the orders were made (ErasureCarriedOut): not when the stores erased.
    "col.carried.out": ("Orders made", "Slettinger bestilt"),
    "col.awaiting": ("Awaiting confirmation", "Venter på bekreftelse"),
    "col.fate": ("What happens", "Hva skjer"),
    "col.until": ("Kept until", "Beholdes til"),
    "col.because": ("Because of", "På grunn av"),
    "col.case": ("Case", "Sak"),
    "col.reason": ("Reason", "Begrunnelse"),
    "col.by": ("By", "Av"),
    "col.at": ("At", "Tidspunkt"),
    "col.since": ("Since", "Siden"),
    "col.what": ("What", "Hva"),
    "col.action": ("Action", "Handling"),
    "not.due": ("not scheduled yet", "ikke planlagt ennå"),
    "state.waiting": ("waiting (its clock has not started)",
                      "venter (fristen har ikke begynt)"),
    "state.scheduled": ("scheduled", "planlagt"),
    "state.erasure-ordered": ("erasure ordered", "sletting bestilt"),
    "state.erasure-failed": ("erasure failed", "sletting feilet"),
    "state.erased": ("erased", "slettet"),
    "state.recall-sent": ("order recalled, awaiting the store's answer",
                          "sletting tilbakekalt, venter på svar"),
    "kept.until.rule": (
        "the rule's full period; its clock has not started",
        "hele fristen i regelen; den har ikke begynt å løpe",
    ),
    "order": ("order", "bestilling"),
    "erase.start": ("Erase this customer…", "Slett denne kunden…"),
    "restrict.title": (
        "Restrict processing (GDPR art. 18)",
        "Begrens behandlingen (GDPR art. 18)",
    ),
    "restrict.ticket": ("Ticket", "Sak"),
    "restrict.reason": ("Reason", "Begrunnelse"),
    "restrict.submit": ("Restrict", "Begrens"),
    "lift.title": ("Lift a restriction", "Opphev en begrensning"),
    "lift.submit": ("Lift", "Opphev"),
    "restricted.done": ("Restriction recorded.", "Begrensningen er registrert."),
    "lifted.done": ("Restriction lifted.", "Begrensningen er opphevet."),
    # preview / erase / receipt
    "preview.title": (
        "Erase this customer? Check first",
        "Slette denne kunden? Kontroller først",
    ),
    "preview.lead": (
        "This is what the erasure request will do now. Nothing has happened yet.",
        "Slik vil slettingsforespørselen virke nå. Ingenting er gjort ennå.",
    ),
    "preview.reason": (
        "Why the customer asked (kept with the request)",
        "Hvorfor kunden ba om det (lagres med forespørselen)",
    ),
    "preview.ticket": ("Support ticket (optional)", "Kundesak (valgfritt)"),
    "preview.confirm": ("Confirm the erasure", "Bekreft slettingen"),
    "preview.cancel": ("Cancel", "Avbryt"),
    "fate.erased now": ("goes now", "slettes nå"),
    "fate.kept by law until due": ("kept by law", "beholdes etter loven"),
    "fate.kept while on legal hold": (
        "held by a legal hold",
        "holdes av et rettslig pålegg",
    ),
    "fate.kept while restricted": (
        "kept while restricted",
        "beholdes mens behandlingen er begrenset",
    ),
    "fate.erasure already ordered": (
        "goes now (erasure ordered)",
        "slettes nå (sletting bestilt)",
    ),
    "fate.already erased": ("already erased", "allerede slettet"),
    "receipt.title": ("Erasure receipt", "Kvittering for sletting"),
    "receipt.request": ("Request id", "Forespørsels-id"),
    "receipt.by": ("Asked by", "Bestilt av"),
    "receipt.answer.due": ("Answer due by", "Svarfrist"),
    "receipt.goes": ("What goes now", "Hva slettes nå"),
    "receipt.kept": (
        "What the law keeps, and until when",
        "Hva loven krever beholdt, og til når",
    ),
    "receipt.held": (
        "What a legal hold or a restriction keeps",
        "Hva et rettslig pålegg eller en begrensning holder tilbake",
    ),
    "receipt.print": ("Print or save as PDF", "Skriv ut eller lagre som PDF"),
    "receipt.nothing": ("Nothing.", "Ingenting."),
    "awaiting.title": ("Waiting for a second person", "Venter på en person til"),
    "awaiting.lead": (
        "Four-eyes is set: another person must approve this change."
        " Give them the approval id.",
        "Fire øyne er påkrevd: en annen person må godkjenne endringen."
        " Gi dem godkjennings-id-en.",
    ),
    "approval.id": ("Approval id", "Godkjennings-id"),
    # approvals
    "approvals.title": (
        "Approve a change (four-eyes)",
        "Godkjenn en endring (fire øyne)",
    ),
    "approvals.subject": (
        "Customer id, typed again (only for a customer's change)",
        "Kunde-id, skrevet på nytt (bare for endringer på en kunde)",
    ),
    "approvals.submit": ("Approve", "Godkjenn"),
    "approved.done": ("Approved and carried out.", "Godkjent og utført."),
    "approvals.waiting": ("Waiting for a second person",
                          "Venter på en person til"),
    "approvals.action.erase-subject": ("erase a customer", "slette en kunde"),
    "approvals.action.release-hold": ("release a legal hold",
                                      "oppheve et rettslig pålegg"),
    # legal
    "legal.title": ("Legal holds", "Rettslige pålegg"),
    "legal.in.force": ("Holds in force", "Pålegg som gjelder"),
    "legal.no.holds": ("No hold is in force.", "Ingen pålegg gjelder."),
    "legal.place": ("Place a hold", "Legg inn et pålegg"),
    "legal.release": ("Release a hold on a customer", "Opphev et pålegg på en kunde"),
    "legal.target": ("On", "På"),
    "legal.target.item": ("one item", "ett element"),
    "legal.target.subject": ("a whole customer", "en hel kunde"),
    "legal.item": ("Item id", "Element-id"),
    "legal.item.or.subject": ("Item id, or customer id", "Element-id eller kunde-id"),
    "legal.case": ("Case reference", "Saksreferanse"),
    "legal.reason": ("Reason", "Begrunnelse"),
    "legal.place.submit": ("Place the hold", "Legg inn pålegget"),
    "legal.release.submit": ("Release", "Opphev"),
    "legal.police": ("Keep an image for the police", "Behold et bilde for politiet"),
    "legal.police.submit": ("Keep for the police period", "Behold i politiets frist"),
    "legal.placed": ("Hold placed.", "Pålegget er lagt inn."),
    "legal.released": ("Hold released.", "Pålegget er opphevet."),
    "legal.extended": (
        "The image is kept for the police until",
        "Bildet beholdes for politiet til",
    ),
    # dpo
    "dpo.title": ("Requests and audit", "Forespørsler og revisjon"),
    "dpo.requests": (
        "Erasure requests and their deadlines",
        "Slettingsforespørsler og fristene deres",
    ),
    "dpo.no.requests": (
        "No open or late request.",
        "Ingen åpne eller forsinkede forespørsler.",
    ),
    "dpo.overdue.by": ("overdue by {n} days", "{n} dager på overtid"),
    "dpo.due.today": ("due today", "forfaller i dag"),
    "dpo.orders.late": ("orders made late", "bestilt for sent"),
    "dpo.overdue": (
        "Overdue items (due, not yet ordered)",
        "Elementer på overtid (forfalt, ikke bestilt)",
    ),
    "dpo.unconfirmed": ("Orders not confirmed", "Bestillinger uten bekreftelse"),
    "dpo.failed": (
        "Orders a store reported failed",
        "Bestillinger et lager meldte som feilet",
    ),
    "dpo.states": ("Items by state", "Elementer etter tilstand"),
    "dpo.report": ("Monthly disposal report", "Månedlig slettingsrapport"),
    "dpo.month": ("Month (YYYY-MM)", "Måned (ÅÅÅÅ-MM)"),
    "dpo.report.open": ("Open the report", "Åpne rapporten"),
    "dpo.verify": ("Verify the history", "Kontroller historikken"),
    "dpo.verify.submit": ("Replay and verify now", "Spill av og kontroller nå"),
    "dpo.verify.ok": (
        "All invariants hold: {events} events of {items} items replayed.",
        "Alle invarianter holder: {events} hendelser for {items} elementer spilt av.",
    ),
    "dpo.verify.bad": ("{n} violations found.", "{n} brudd funnet."),
    "dpo.nothing": ("Nothing.", "Ingenting."),
    "col.count": ("Count", "Antall"),
    "col.rule": ("Rule", "Regel"),
    "col.violation": ("Violation", "Brudd"),
    # errors
    "error.title": ("That did not work", "Det gikk ikke"),
    "refused.title": ("Not for your role", "Ikke for din rolle"),
    "error.back": ("Back", "Tilbake"),
    "error.csrf": (
        "This form has expired or did not come from this console;"
        " open the page again and retry.",
        "Skjemaet er utløpt eller kom ikke fra dette konsollet; åpne"
        " siden på nytt og prøv igjen.",
    ),
    "not.found": ("There is no such page.", "Den siden finnes ikke."),
}
# fmt: on


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """The language chosen with the switch, else the browser's first we have."""
    if asked in LANGUAGES:
        return asked
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in ("nb", "no", "nn"):
            return "nb"  # Nynorsk and plain "no" readers read bokmål too
        if primary == "en":
            return "en"
    return DEFAULT


def translator(language: str) -> Callable[..., str]:
    index = LANGUAGES.index(language)

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][index]
        return text.format(**values) if values else text

    return t


def state_label(t: Callable[..., str], state: str) -> str:
    """An item's state in words; a state newer than the catalogue as it is."""
    return t(f"state.{state}") if f"state.{state}" in MESSAGES else state
