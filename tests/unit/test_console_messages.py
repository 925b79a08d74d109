"""The console's one catalogue: every label in both languages, none in a template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lethe.domain.erasure_preview import Fate
from lethe.domain.item import ItemState
from lethe.ops.access.settings import FOUR_EYES_ACTIONS
from lethe.ops.http.console import legal, pages, render, support
from lethe.ops.http.console.messages import (
    LANGUAGES,
    MESSAGES,
    choose_language,
    state_label,
    translator,
)

TEMPLATES = sorted(render.TEMPLATES.glob("*.html"))
KEY_IN_TEMPLATE = re.compile(r"""\bt\(\s*["']([^"']+)["']""")
KEY_OF_FIELD = re.compile(r'\bfield\("[^"]+", "[^"]+", "([^"]+)"')
TITLE_IN_CODE = re.compile(r"""title=["']([a-z.]+)["']""")


def test_every_message_has_a_text_in_each_language() -> None:
    for key, texts in MESSAGES.items():
        assert len(texts) == len(LANGUAGES), key
        assert all(text.strip() for text in texts), key


def test_every_key_a_template_or_page_asks_for_is_in_the_catalogue() -> None:
    texts = [path.read_text() for path in TEMPLATES]
    asked = {k for text in texts for k in KEY_IN_TEMPLATE.findall(text)}
    asked |= {k for text in texts for k in KEY_OF_FIELD.findall(text)}
    code = Path(render.__file__).parent.glob("*.py")
    asked |= {k for path in code for k in TITLE_IN_CODE.findall(path.read_text())}
    asked |= {label for _, label, _ in render.MENU}
    asked |= set(pages.SIGN_IN_NOTES.values()) | set(legal.DONE.values())
    asked |= {title for title, _ in support.RECEIPT}
    asked.discard("fate.")  # t("fate." ~ f.fate): one key for each fate
    asked |= {f"fate.{fate.value}" for fate in Fate}
    asked |= {f"state.{state.value}" for state in ItemState}  # state(i.state)
    asked.discard("approvals.action.")  # and one for each four-eyes action
    asked |= {f"approvals.action.{action}" for action in FOUR_EYES_ACTIONS}
    assert len(asked) > 50
    assert sorted(asked - set(MESSAGES)) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_template_holds_words_of_its_own(path: Path) -> None:
    text = re.sub(r"{{.*?}}|{%.*?%}|{#.*?#}|<[^>]*>", " ", path.read_text(), flags=re.S)
    assert re.sub(r"[\s:()–,.]", "", text) == ""


@pytest.mark.parametrize(
    ("cookie", "accept", "chosen"),
    [
        (None, "nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        (None, "no", "nb"),
        (None, "nn-NO", "nb"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "de-DE,fr;q=0.5", "en"),
        (None, "de-DE,nb;q=0.5", "nb"),
        (None, None, "en"),
        ("nb", "en-GB", "nb"),
        ("en", "nb-NO", "en"),
        ("xx", "nb-NO", "nb"),
    ],
)
def test_the_language_is_the_switchs_else_the_browsers_first_known(
    cookie: str | None, accept: str | None, chosen: str
) -> None:
    assert choose_language(cookie, accept) == chosen


def test_a_state_newer_than_the_catalogue_is_shown_as_it_is() -> None:
    t = translator("nb")
    assert state_label(t, "scheduled") == "planlagt"
    assert state_label(t, "recalled") == "recalled"
