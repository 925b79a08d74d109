"""Free text: sealed and opened under the subject's key; identifying text refused."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.free_text import (
    SEALED,
    SHREDDED,
    PersonalTextError,
    names,
    open_all,
    open_text,
    refuse_identifiers,
    seal,
)
from tests.support.fakes import FakeSubjectVault

REF = "ref-1"
texts = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=200)


@given(texts)
def test_a_sealed_text_opens_to_itself_until_the_key_is_shredded(text: str) -> None:
    vault = FakeSubjectVault()
    sealed = seal(vault, REF, text)
    assert sealed is not None and sealed.startswith(SEALED) and " " not in sealed
    assert (
        open_text(vault, REF, f"case C-1: {sealed} (by s)")
        == f"case C-1: {text} (by s)"
    )
    vault.shred(REF)
    assert open_all(vault, REF, {"r": [sealed]}) == {"r": [SHREDDED]}


def test_nothing_and_empty_stay_what_they_are() -> None:
    assert seal(FakeSubjectVault(), REF, None) is None
    assert seal(FakeSubjectVault(), REF, "") == ""


births = st.dates(date(1900, 1, 1), date(2039, 12, 31))


@given(births, st.integers(0, 99_999), st.sampled_from(["", " "]), st.booleans())
def test_every_fodselsnummer_shape_is_refused_without_being_quoted(
    born: date, serial: int, gap: str, d_number: bool
) -> None:
    day = born.day + (40 if d_number else 0)
    number = f"{day:02d}{born.month:02d}{born.year % 100:02d}{gap}{serial:05d}"
    with pytest.raises(PersonalTextError, match="national identity number") as refused:
        refuse_identifiers("reason", f"per letter, fnr {number}.", names("x"))
    assert number.replace(" ", "") not in str(refused.value).replace(" ", "")


@given(st.integers(20_000_000, 99_999_999), st.booleans())
def test_phone_numbers_are_refused_unless_they_read_as_a_date(
    number: int, prefixed: bool
) -> None:
    text = f"ring {'+47 ' if prefixed else ''}{number}"
    digits = str(number)
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        is_date = 1900 <= int(digits[:4]) <= 2199
    except ValueError:
        is_date = False
    if is_date and not prefixed:
        refuse_identifiers("reason", text, names("x"))  # a compact date passes
    else:
        with pytest.raises(PersonalTextError, match="phone number"):
            refuse_identifiers("reason", text, names("x"))


def test_the_subjects_own_id_is_refused_as_a_word_never_inside_one() -> None:
    with pytest.raises(PersonalTextError, match="subject's own id"):
        refuse_identifiers("reason", "asked by Case, in person", names("case"))
    refuse_identifiers("reason", "lowercase reasons, a showcase", names("case"))
    refuse_identifiers(
        "reason", "police case 2026-0017 of " + str(date.today()), names("x")
    )


def test_an_unreadable_seal_does_not_break_a_view() -> None:
    class Broken(FakeSubjectVault):
        def unseal(self, subject_ref: str, seal: bytes) -> str | None:
            raise RuntimeError("tag mismatch")

    assert open_text(Broken(), REF, SEALED + "AAAA").startswith("(unreadable")


def test_an_id_of_several_words_is_found_too() -> None:
    with pytest.raises(PersonalTextError, match="subject's own id"):
        refuse_identifiers(
            "reason", "per Ola  Nordmann, by phone", names("Ola Nordmann")
        )
    refuse_identifiers("reason", "per Ola, not Nordmann", names("Ola Nordmann"))
