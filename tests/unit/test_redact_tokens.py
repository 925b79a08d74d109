"""redact blots a subject id where it stands as a token, never inside words."""

from __future__ import annotations

from lethe.consumers.checks import redact
from lethe.consumers.shown import digest


def test_a_short_id_does_not_blot_ordinary_words() -> None:
    reason = "sha256 is not 64 lowercase hex characters"
    assert redact(reason, ["case"]) == reason


def test_the_id_itself_is_withheld_wherever_it_stands_alone() -> None:
    reason = "subject case refused: case 'case' unknown"
    shown = digest("case")
    assert (
        redact(reason, ["case"])
        == f"subject {shown} refused: {shown} '{shown}' unknown"
    )


def test_longer_ids_go_first_so_no_fragment_is_left() -> None:
    reason = "customer C-1001 and C-10 both refused"
    got = redact(reason, ["C-10", "C-1001"])
    assert "C-10" not in got
    assert got == f"customer {digest('C-1001')} and {digest('C-10')} both refused"
