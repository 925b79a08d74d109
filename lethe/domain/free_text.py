"""Free text about a subject (reasons, ticket refs, a store's detail): sealed
under the subject's key so that it dies with it, and refused when it names them.

A sealed text is a string in the same event field a clear one used to be:
`sealed:v1:` and the base64 of the vault's seal. Events recorded before sealing
hold clear text; they are read as they are (docs/architecture.md says so).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from lethe.domain.errors import BadCommandError
from lethe.domain.ports import SubjectVault

SEALED = "sealed:v1:"
SHREDDED = "(shredded)"
UNREADABLE = "(unreadable: not sealed under this subject's key)"
# Self-delimiting (base64 has no spaces), so a rendered line can be opened too.
_TOKEN = re.compile(re.escape(SEALED) + r"[A-Za-z0-9+/]*={0,2}")
# Eleven digits standing alone, optionally "DDMMYY NNNNN": a fødselsnummer's shape.
_NATIONAL_ID = re.compile(r"(?<![\d+])(\d{6})\s?(\d{5})(?!\d)")
# +47 / 0047 and eight digits, or eight digits alone (grouped as people write them).
_PUNCTUATION = ".,;:!?()[]{}\"'"
_PHONE = re.compile(r"(?<![\d+])(\+47|0047)?\s?([2-9]\d(?: ?\d){6})(?!\d)")


def seal(vault: SubjectVault, subject_ref: str, text: str | None) -> str | None:
    """`text` sealed under the subject's key; None and "" stay what they are."""
    if not text:
        return text
    return SEALED + base64.b64encode(vault.seal(subject_ref, text)).decode()


def open_text(vault: SubjectVault, subject_ref: str, text: str) -> str:
    """Every sealed text in `text` opened, or "(shredded)" once the key is gone."""
    if SEALED not in text:
        return text  # clear: written before sealing, or never free text

    def opened(found: re.Match[str]) -> str:
        try:
            sealed = base64.b64decode(found[0][len(SEALED) :], validate=True)
            return vault.unseal(subject_ref, sealed) or SHREDDED
        except (binascii.Error, ValueError):
            return SHREDDED
        except Exception:  # the vault's own error (a tag that fails): no crash
            return UNREADABLE

    return _TOKEN.sub(opened, text)


def masked(text: str | None) -> str | None:
    """For views that open nothing (a report for many subjects): "(sealed)"."""
    return "(sealed)" if text and SEALED in text else text


def open_all(vault: SubjectVault, subject_ref: str, value: Any) -> Any:
    """`value` (a view's row or document) with every sealed string opened."""
    if isinstance(value, str):
        return open_text(vault, subject_ref, value)
    if isinstance(value, dict):
        return {k: open_all(vault, subject_ref, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(open_all(vault, subject_ref, v) for v in value)
    return value


class PersonalTextError(BadCommandError):
    """Free text that names the subject or looks like a national id or phone."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(
            f"the {field} holds {what}: free text must not identify a person "
            "(the command names its subject already); write it without that"
        )


def refuse_identifiers(
    field: str, text: str | None, is_own_id: Callable[[str], bool]
) -> None:
    """Refuse `text` if a token of it is the subject's id or it holds a number
    shaped like a national id or a phone number. Never quotes what it found."""
    if not text:
        return
    refuse_own_id(field, text, is_own_id)
    if any(_birth_date(m[1]) for m in _NATIONAL_ID.finditer(text)):
        # The shape, not the check digits: a mistyped number still points at a
        # person (and "12057312345" from issue 13 fails the check digits).
        raise PersonalTextError(field, "what looks like a national identity number")
    if any(m[1] or not _looks_like_date(m[2]) for m in _PHONE.finditer(text)):
        raise PersonalTextError(field, "what looks like a phone number")


def refuse_own_id(field: str, text: str, is_own_id: Callable[[str], bool]) -> None:
    """For handles that stay readable (case refs): a police case number may well
    have eight digits, but no handle may be the subject's id."""
    if any(is_own_id(token) for token in tokens(text)):
        raise PersonalTextError(field, "the subject's own id")


def tokens(text: str, most_words: int = 4) -> set[str]:
    """The words of `text` as a subject id could stand in it: whole, without the
    punctuation a sentence puts around them, and runs of up to `most_words`
    words (an id such as "Ola Nordmann" has a space in it)."""
    words = text.split()
    found = set(words) | {w.strip(_PUNCTUATION) for w in words}
    for size in range(2, most_words + 1):
        for start in range(len(words) - size + 1):
            found.add(" ".join(words[start : start + size]).strip(_PUNCTUATION))
    return found - {""}


def names(subject_id: str) -> Callable[[str], bool]:
    """Whether a token is `subject_id` (case-insensitive, whole token only)."""
    wanted = " ".join(subject_id.split()).casefold()
    return lambda token: bool(wanted) and token.casefold() == wanted


def _birth_date(first_six: str) -> bool:
    """DDMMYY, with a D-number's day (+40) or an H-number's month (+40)."""
    day, month, year = int(first_six[:2]), int(first_six[2:4]), int(first_six[4:])
    day, month = day - 40 if day > 40 else day, month - 40 if month > 40 else month
    return _valid(2000 + year, month, day)


def _looks_like_date(digits: str) -> bool:
    """YYYYMMDD: a date written compactly is no phone number."""
    plain = re.sub(r"\D", "", digits)
    year, month, day = int(plain[:4]), int(plain[4:6]), int(plain[6:])
    return 1900 <= year <= 2199 and _valid(year, month, day)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
