"""`lethe retention due` and `lethe policy show`, run as support staff run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.ops.cli.main import main
from lethe.policies import load_shipped, shipped_ids

pytestmark = pytest.mark.e2e
SECTOR_REF = "sector-alarm@2024-10-25.2"

# Oslo is UTC+1 (CET) in winter and UTC+2 (CEST) in summer. In 2026 summer time
# starts on 29 March (02:00 CET -> 03:00 CEST) and ends on 25 October (03:00
# CEST -> 02:00 CET); it starts on 26 March in 2028 and 27 March in 2033.

# (category, captured at, extra options, expected due_at), worked by hand.
DUE_CASES = {
    # 31 Jan 12:00 CET + 3 months = 30 Apr (no 31st: clamped) 12:00 CEST
    "arming-log, clamped to April's end": (
        "arming-log", "2026-01-31T12:00:00+01:00", [], "2026-04-30T10:00:00Z"),
    # 30 Nov 2025 12:00 CET + 3 months = 28 Feb 2026 (no 30th) 12:00 CET
    "arming-log, clamped to February's end": (
        "arming-log", "2025-11-30T12:00:00+01:00", [], "2026-02-28T11:00:00Z"),
    # 30 Nov 2027 12:00 CET + 3 months = 29 Feb 2028 (leap year) 12:00 CET
    "arming-log, clamped to a leap day": (
        "arming-log", "2027-11-30T12:00:00+01:00", [], "2028-02-29T11:00:00Z"),
    # No end yet: min() of what is known = 25 Mar 2026 + 5 years, 12:00 CET
    "alarm-event, active customer": (
        "alarm-event", "2026-03-25T12:00:00+01:00", [], "2031-03-25T11:00:00Z"),
    # End 15 Jun 2027 12:00 CEST + 3 years = 15 Jun 2030 12:00 CEST, before
    # captured + 5 years (25 Mar 2031): the relationship term wins the min()
    "alarm-event, min() takes the relationship's end": (
        "alarm-event", "2026-03-25T12:00:00+01:00",
        ["--relationship-ended", "2027-06-15T10:00:00Z"], "2030-06-15T10:00:00Z"),
    # End 15 Jun 2029 + 3 years = 15 Jun 2032, after captured + 5 years
    # (25 Mar 2031 12:00 CET): the capture term wins the min()
    "alarm-event, min() takes the capture": (
        "alarm-event", "2026-03-25T12:00:00+01:00",
        ["--relationship-ended", "2029-06-15T10:00:00Z"], "2031-03-25T11:00:00Z"),
    # 25 Mar 12:00 CET + 7 days = 1 Apr 12:00, now CEST: 10:00Z, not 11:00Z
    "verification-image, across spring-forward": (
        "verification-image", "2026-03-25T12:00:00+01:00", [], "2026-04-01T10:00:00Z"),
    # Police-relevant: 30 days in all from capture = 24 Apr 12:00 CEST
    "verification-image, police-relevant": (
        "verification-image", "2026-03-25T12:00:00+01:00", ["--police-relevant"],
        "2026-04-24T10:00:00Z"),
    # 20 Oct 12:00 CEST + 7 days = 27 Oct 12:00, now CET: 11:00Z, not 10:00Z
    "verification-image, across fall-back": (
        "verification-image", "2026-10-20T12:00:00+02:00", [], "2026-10-27T11:00:00Z"),
    # 22 Mar 02:30 CET + 7 days = 29 Mar 02:30, which does not exist: moved on
    # by the gap to 03:30 CEST
    "verification-image, into the spring-forward gap": (
        "verification-image", "2026-03-22T02:30:00+01:00", [], "2026-03-29T01:30:00Z"),
    # 18 Oct 02:30 CEST + 7 days = 25 Oct 02:30, which happens twice: the
    # earlier one, 02:30 CEST
    "verification-image, into the fall-back overlap": (
        "verification-image", "2026-10-18T02:30:00+02:00", [], "2026-10-25T00:30:00Z"),
    # Leap day 29 Feb 2028 09:15 CET + 12 months = 28 Feb 2029 09:15 CET
    "alarm-call-recording, from a leap day": (
        "alarm-call-recording", "2028-02-29T09:15:00+01:00", [],
        "2029-02-28T08:15:00Z"),
    # 20 Sep 10:00 CEST + 45 days (10 to 30 Sep, 31 in Oct, 4) = 4 Nov 10:00 CET
    "service-call-recording": (
        "service-call-recording", "2026-09-20T08:00:00Z", [], "2026-11-04T09:00:00Z"),
    # Oslo midnight 1 Jul 2026 + 12 months = 1 Jul 2027 00:00 CEST: 30 Jun in UTC
    "contact-form, from Oslo midnight": (
        "contact-form", "2026-07-01T00:00:00+02:00", [], "2027-06-30T22:00:00Z"),
    # Contract ended 1 Jun 2026 00:00 CEST, last invoice paid 15 Jul: + 12
    # months from the contract = 1 Jun 2027 00:00 CEST (31 May 22:00Z)
    "customer-identity": (
        "customer-identity", "2026-01-10T10:00:00Z",
        ["--contract-ended", "2026-06-01T00:00:00+02:00",
         "--relationship-ended", "2026-07-15T12:00:00+02:00"],
        "2027-05-31T22:00:00Z"),
    # No contract end sent: the relationship's end (10 May 14:00 CEST) stands
    # in, the latest the contract can have ended: 10 May 2027 14:00 CEST
    "customer-identity, only the relationship's end known": (
        "customer-identity", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2026-05-10T14:00:00+02:00"], "2027-05-10T12:00:00Z"),
    # Contract ended on a leap day 29 Feb 2028 12:00 CET + 12 months = 28 Feb
    # 2029 12:00 CET
    "customer-identity, contract ended on a leap day": (
        "customer-identity", "2026-01-10T10:00:00Z",
        ["--contract-ended", "2028-02-29T12:00:00+01:00"], "2029-02-28T11:00:00Z"),
    # End 31 Dec 2026 23:30Z = 1 Jan 2027 00:30 CET + 12 months = 1 Jan 2028
    # 00:30 CET
    "onboarding, ended on New Year's night": (
        "onboarding", "2025-01-10T10:00:00Z",
        ["--relationship-ended", "2026-12-31T23:30:00Z"], "2027-12-31T23:30:00Z"),
    # End 15 Jan 2027 10:00 CET + 12 months = 15 Jan 2028 10:00 CET
    "customer-activity": (
        "customer-activity", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2027-01-15T09:00:00Z"], "2028-01-15T09:00:00Z"),
    # End + 12 months = 15 Jan 2028, before the item arrived on 1 Jun 2028:
    # never due before it was captured, so due on arrival
    "customer-activity, arriving after its due time": (
        "customer-activity", "2028-06-01T10:00:00Z",
        ["--relationship-ended", "2027-01-15T09:00:00Z"], "2028-06-01T10:00:00Z"),
    # End 31 Aug 2026 10:00 CEST + 12 months = 31 Aug 2027 10:00 CEST
    "portal-activity": (
        "portal-activity", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2026-08-31T10:00:00+02:00"], "2027-08-31T08:00:00Z"),
    # Ended in 2026; full years 2027-2031; deleted 1 Jan 2032 00:00 CET
    "contract": (
        "contract", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2026-06-30T12:00:00+02:00"], "2031-12-31T23:00:00Z"),
    # 31 Dec 2026 23:30Z is 1 Jan 2027 00:30 in Oslo: ended in 2027, full years
    # 2028-2032, deleted 1 Jan 2033 00:00 CET (a UTC reckoning says 2032)
    "invoice, accounting year reckoned in Oslo": (
        "invoice", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2026-12-31T23:30:00Z"], "2032-12-31T23:00:00Z"),
    # 31 Dec 2026 22:30Z is 23:30 in Oslo, still 2026: 1 Jan 2032 00:00 CET
    "invoice, an hour earlier is the year before": (
        "invoice", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2026-12-31T22:30:00Z"], "2031-12-31T23:00:00Z"),
    # Leap day 29 Feb 2028 12:00 CET + 5 years = 28 Feb 2033 12:00 CET
    "accounting-archive-identity, from a leap day": (
        "accounting-archive-identity", "2026-01-10T10:00:00Z",
        ["--relationship-ended", "2028-02-29T12:00:00+01:00"], "2033-02-28T11:00:00Z"),
    # Onboarded 10 Oct 09:00 CEST + 30 days = 9 Nov 09:00 CET (across the
    # fall-back), before captured + 30 days (scanned 14 Oct)
    "paper-original": (
        "paper-original", "2026-10-14T09:00:00+02:00",
        ["--onboarded", "2026-10-10T09:00:00+02:00"], "2026-11-09T08:00:00Z"),
    # No onboarding sent: the scan's capture stands in, 10 Oct + 30 days
    "paper-original, onboarding not known": (
        "paper-original", "2026-10-10T09:00:00+02:00", [], "2026-11-09T08:00:00Z"),
    # Leap day 29 Feb 2024 12:00 CET + 2 years = 28 Feb 2026 12:00 CET
    "backup, from a leap day": (
        "backup", "2024-02-29T12:00:00+01:00", [], "2026-02-28T11:00:00Z"),
    # 29 Mar 2026 01:30 CET (just before the switch) + 7 years = 29 Mar 2033
    # 01:30, by then CEST (summer time began 27 Mar 2033): 28 Mar 23:30 UTC
    "do-not-knock-address": (
        "do-not-knock-address", "2026-03-29T01:30:00+01:00", [],
        "2033-03-28T23:30:00Z"),
}  # fmt: skip


def lethe(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def due(category: str, captured_at: str, *extra: str) -> Result:
    return lethe(
        "retention", "due", "--policy", "sector-alarm", "--category", category,
        "--captured-at", captured_at, *extra,
    )  # fmt: skip


def due_json(category: str, captured_at: str, *extra: str) -> dict[str, object]:
    result = due(category, captured_at, *extra, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lethe: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- lethe retention due -------------------------------------------------------


@pytest.mark.parametrize(("category", "captured", "extra", "expected"),
                         DUE_CASES.values(), ids=DUE_CASES.keys())  # fmt: skip
def test_due_instant_matches_the_hand_computed_one(
    category: str, captured: str, extra: list[str], expected: str
) -> None:
    answer = due_json(category, captured, *extra)

    assert answer["due_at"] == expected
    assert answer["policy"] == SECTOR_REF
    assert str(answer["rule"]).startswith(f"{category}: ")


def test_every_sector_alarm_category_has_a_hand_computed_case() -> None:
    covered = {category for category, *_ in DUE_CASES.values()}
    assert covered == set(load_shipped("sector-alarm").rules)


def test_due_reads_as_support_staff_expect() -> None:
    result = due("verification-image", "2026-03-25T12:00:00+01:00")

    assert result.exit_code == 0
    assert result.stdout == (
        "due     2026-04-01T10:00:00Z  (2026-04-01 12:00 CEST, Europe/Oslo)\n"
        "rule    verification-image: captured + 7 days\n"
        f"policy  {SECTOR_REF}\n"
    )


def test_the_json_answer_is_exactly_one_object() -> None:
    result = due("verification-image", "2026-03-25T12:00:00+01:00", "--json")

    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == {
        "due_at": "2026-04-01T10:00:00Z",
        "due_local": "2026-04-01T12:00:00+02:00",
        "rule": "verification-image: captured + 7 days",
        "policy": SECTOR_REF,
        "legal_obligation": False,
        "waiting_for": [],
    }


def test_the_police_flag_names_the_police_rule() -> None:
    answer = due_json("verification-image", "2026-03-25T12:00:00+01:00",
                      "--police-relevant")  # fmt: skip
    assert answer["rule"] == "verification-image: captured + 30 days"


def test_the_police_flag_on_a_category_without_a_police_rule_says_so() -> None:
    result = due("arming-log", "2026-01-31T12:00:00+01:00", "--police-relevant")
    assert "note    --police-relevant changes nothing for arming-log" in result.stdout


@pytest.mark.parametrize("category", ["customer-identity", "contract", "invoice"])
def test_due_at_is_null_until_the_relationship_ends(category: str) -> None:
    answer = due_json(category, "2026-01-10T10:00:00Z")
    assert answer["due_at"] is None
    assert answer["due_local"] is None


def test_a_clock_not_started_is_said_in_words() -> None:
    result = due("customer-identity", "2026-01-10T10:00:00Z")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "due     not yet due: the clock starts once the contract ends (pass "
        "--contract-ended) or the customer relationship ends (pass "
        "--relationship-ended)"
    )
    assert due_json("customer-identity", "2026-01-10T10:00:00Z")["waiting_for"] == [
        "contract-end",
        "relationship-end",
    ]


def test_identity_counted_from_the_relationship_may_come_earlier() -> None:
    result = due("customer-identity", "2026-01-10T10:00:00Z",
                 "--relationship-ended", "2026-07-15T12:00:00+02:00")  # fmt: skip
    assert result.stdout.splitlines()[1].strip() == (
        "may come earlier once the contract ends (pass --contract-ended)"
    )


def test_a_paper_original_may_come_earlier_once_onboarding_is_known() -> None:
    result = due("paper-original", "2026-10-10T09:00:00+02:00")
    assert "may come earlier once the customer is onboarded (pass --onboarded)" in (
        result.stdout
    )


def test_an_active_customers_alarm_event_may_come_earlier() -> None:
    result = due("alarm-event", "2026-03-25T12:00:00+01:00")
    assert "may come earlier once the customer relationship ends" in result.stdout


def test_the_twice_lived_autumn_hour_is_told_apart_by_its_zone_name() -> None:
    result = due("verification-image", "2026-10-18T02:30:00+02:00")
    assert "(2026-10-25 02:30 CEST, Europe/Oslo)" in result.stdout


def test_legal_obligation_is_reported() -> None:
    answer = due_json("alarm-call-recording", "2028-02-29T09:15:00+01:00")
    result = due("invoice", "2026-01-10T10:00:00Z",
                 "--relationship-ended", "2026-12-31T23:30:00Z")  # fmt: skip

    assert answer["legal_obligation"] is True
    assert "even if the customer asks for erasure" in result.stdout


def test_milliseconds_are_printed_when_there_are_some() -> None:
    answer = due_json("verification-image", "2026-03-25T12:00:00.250+01:00")
    assert answer["due_at"] == "2026-04-01T10:00:00.250Z"


def test_last_contact_is_accepted() -> None:
    result = due("arming-log", "2026-01-31T12:00:00+01:00",
                 "--last-contact", "2026-02-01T09:00:00Z")  # fmt: skip
    assert result.exit_code == 0


# --- mistakes: exit 2, one line, no traceback ---------------------------------

MISTAKES = {
    "unknown policy": (
        ["--policy", "sektor", "--category", "arming-log",
         "--captured-at", "2026-03-25T12:00:00Z"],
        ["'sektor'", "hedengren, sector-alarm, sensornordic"]),
    "unknown category": (
        ["--policy", "sector-alarm", "--category", "images",
         "--captured-at", "2026-03-25T12:00:00Z"],
        ["'images'", "arming-log", "verification-image"]),
    "captured-at without offset": (
        ["--policy", "sector-alarm", "--category", "arming-log",
         "--captured-at", "2026-03-25T12:00:00"],
        ["2026-03-25T12:00:00 has no UTC offset",
         "2026-03-25T12:00:00+01:00 or 2026-03-25T12:00:00Z"]),
    "relationship-ended without offset": (
        ["--policy", "sector-alarm", "--category", "invoice",
         "--captured-at", "2026-03-25T12:00:00Z",
         "--relationship-ended", "2026-12-31 23:30"],
        ["--relationship-ended", "has no UTC offset"]),
    "a date that does not exist": (
        ["--policy", "sector-alarm", "--category", "arming-log",
         "--captured-at", "2026-02-30T12:00:00+01:00"],
        ["2026-02-30T12:00:00+01:00 is not a real date", "day is out of range"]),
    "not a timestamp": (
        ["--policy", "sector-alarm", "--category", "arming-log",
         "--captured-at", "yesterday"],
        ["'yesterday' is not an ISO-8601 timestamp"]),
    "a missing option": (
        ["--policy", "sector-alarm", "--captured-at", "2026-03-25T12:00:00Z"],
        ["--category", "lethe retention due --help"]),
    "unknown option with --json": (
        ["--policy", "sector-alarm", "--json", "--frobnicate"],
        ["--frobnicate"]),
}  # fmt: skip


@pytest.mark.parametrize(("args", "fragments"), MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_in_retention_due_is_one_line_and_exit_2(
    args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(lethe("retention", "due", *args), *fragments)


def test_an_unknown_command_is_one_line_and_exit_2() -> None:
    assert_one_line_error(lethe("retentoin"), "retentoin", "lethe --help")


def test_an_unknown_policy_to_show_is_one_line_and_exit_2() -> None:
    assert_one_line_error(lethe("policy", "show", "nope"), "'nope'", "sector-alarm")


# --- lethe policy show ---------------------------------------------------------


def test_policy_show_lists_every_category_with_its_rule() -> None:
    result = lethe("policy", "show", "sector-alarm")
    policy = load_shipped("sector-alarm")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith(
        f"policy {SECTOR_REF}  zone Europe/Oslo  source Sector Alarm AS"
    )
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[4:]}
    assert set(rows) == set(policy.rules)
    assert "captured + 30 days" in rows["verification-image"]
    assert "kept until due" in rows["invoice"]
    assert "erased now" in rows["arming-log"]


def test_policy_show_lists_the_anchors_each_rule_needs() -> None:
    shown = json.loads(lethe("policy", "show", "sector-alarm", "--json").stdout)
    anchors = {rule["category"]: rule["anchors"] for rule in shown["rules"]}

    assert anchors["customer-identity"] == ["contract-end", "relationship-end"]
    assert anchors["paper-original"] == ["onboarded", "captured"]
    assert anchors["alarm-event"] == ["captured", "relationship-end"]
    assert anchors["verification-image"] == ["captured"]
    table = lethe("policy", "show", "sector-alarm").stdout
    row = next(line for line in table.splitlines() if line.startswith("customer-id"))
    assert "contract-end or relationship-end" in row


def test_piped_policy_show_is_whole_and_plain() -> None:
    result = lethe("policy", "show", "sector-alarm")

    assert "politietterforskning." in result.stdout  # the longest text, uncut
    assert "\x1b[" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_policy_show_without_a_policy_lists_the_shipped_ones() -> None:
    result = lethe("policy", "show")
    rows = [line.split() for line in result.stdout.splitlines()[2:]]

    assert result.exit_code == 0
    assert result.stdout.split()[:5] == ["POLICY", "VERSION", "RULES", "ZONE", "SOURCE"]
    assert [row[:3] for row in rows] == [
        ["hedengren", "2023-10-13.1", "2"],
        ["sector-alarm", "2024-10-25.2", "16"],
        ["sensornordic", "2026-01-01.1", "2"],
    ]


def test_policy_show_json_has_every_rule() -> None:
    shown = json.loads(lethe("policy", "show", "sector-alarm", "--json").stdout)
    image = next(r for r in shown["rules"] if r["category"] == "verification-image")

    assert shown["ref"] == SECTOR_REF
    assert len(shown["rules"]) == len(load_shipped("sector-alarm").rules)
    assert image["police_due"] == "captured + 30 days"
    assert image["text"].startswith("Verifisering bilder og video")


def test_policy_list_json_names_every_shipped_policy() -> None:
    listed = json.loads(lethe("policy", "show", "--json").stdout)
    assert [p["policy"] for p in listed["policies"]] == shipped_ids()


# --- the installed console script -------------------------------------------


def installed_lethe() -> str:
    script = Path(sys.executable).with_name("lethe")
    found = str(script) if script.exists() else shutil.which("lethe")
    if found is None:
        pytest.fail("no `lethe` console script: run `pip install -e . --no-deps`")
    return found


def run_installed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed_lethe(), *args], capture_output=True, text=True, timeout=60
    )


def test_the_installed_script_answers_when_an_item_is_due() -> None:
    done = run_installed(
        "retention", "due", "--policy", "sector-alarm",
        "--category", "verification-image",
        "--captured-at", "2026-03-25T12:00:00+01:00", "--json",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["due_at"] == "2026-04-01T10:00:00Z"


def test_the_installed_script_reports_a_mistake_in_one_line() -> None:
    done = run_installed(
        "retention", "due", "--policy", "sector-alarm", "--category", "invoice",
        "--captured-at", "2026-03-25T12:00:00",
    )  # fmt: skip

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("lethe: ")
    assert "Traceback" not in done.stderr


def test_the_installed_script_knows_its_version() -> None:
    done = run_installed("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("lethe, version ")


def run_in_terminal(columns: int, *args: str) -> list[str]:
    """Run the installed script on a pseudo-terminal `columns` wide; its lines."""
    primary, secondary = os.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    with subprocess.Popen([installed_lethe(), *args], stdout=secondary, env=env):
        os.close(secondary)
        chunks = []
        while chunk := _read(primary):
            chunks.append(chunk)
    os.close(primary)
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode())
    return text.replace("\r", "").splitlines()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the script exited and closed its end
        return b""


# 140: the narrowest width at which the six columns still fit side by side.
@pytest.mark.parametrize("columns", [140, 160])
def test_on_a_terminal_the_notice_text_is_cut_to_fit(columns: int) -> None:
    lines = run_in_terminal(columns, "policy", "show", "sector-alarm")
    row = next(line for line in lines if line.startswith("arming-log "))

    assert all(len(line) <= columns for line in lines[1:])  # [0]: the header
    assert "captured + 3 months" in row
    assert row.rstrip().endswith("…")


def test_on_a_narrow_terminal_each_rule_is_a_block() -> None:
    lines = run_in_terminal(80, "policy", "show", "sector-alarm")

    assert all(len(line) <= 80 for line in lines[1:])
    assert "CATEGORY            arming-log" in [line.rstrip() for line in lines]
    assert any("politietterforskning." in line for line in lines)  # wrapped, whole
