"""The DPO's page in a real Chromium: deadlines (red when overdue), what needs
attention, verification and the monthly report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from lethe.ops.access.roles import Role
from tests.support import ingest_record
from tests.support.browser import Shoot, csp_refusals
from tests.support.console import (
    SUBJECT,
    Console,
    rows_of,
    sign_in,
    submit,
)
from tests.support.http import call

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
DAY_MS = 86_400_000
RED = "rgba(164, 20, 28, 1)"  # --danger in console.css


def _open_request(console: Console, request_id: str, due_in_days: int) -> None:
    """A request the schedule process recorded and has not answered yet (it is
    answered at once when all goes well, so an open one means it stopped): the
    deadline rows it leaves, which the page reads."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    ref = console.runtime.app.subject_ref("sector-alarm", SUBJECT)
    console.runtime.views.execute([(
        "INSERT INTO lethe_requests (request_id, subject_ref, requested_at,"
        " answer_due_at) VALUES (?, ?, ?, ?)",
        (request_id, ref, now_ms - 5 * DAY_MS, now_ms + due_in_days * DAY_MS),
    )])  # fmt: skip


def test_the_dpo_sees_days_left_an_overdue_request_in_red_and_overdue_items(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    _open_request(console, "req-in-time", 20)
    _open_request(console, "req-late", -3)
    long_ago = datetime.now(UTC) - timedelta(days=3650)
    console.runtime.app.ingest(
        [ingest_record("evt-old", "alarm-event", SUBJECT, long_ago)],
        datetime.now(UTC),
    )
    sign_in(browser, console, Role.AUDITOR)
    submit(browser, By.LINK_TEXT, "Requests and audit")
    rows = {r[0]: r for r in rows_of(browser, "#requests")}
    assert rows["req-in-time"][3] in ("19", "20")  # calendar days, in Oslo
    assert rows["req-late"][3] in ("overdue by 3 days", "overdue by 2 days")
    late = browser.find_element(By.XPATH, "//tr[td[text()='req-late']]")
    in_time = browser.find_element(By.XPATH, "//tr[td[text()='req-in-time']]")
    assert "overdue" in late.get_attribute("class")
    assert late.find_element(By.TAG_NAME, "td").value_of_css_property("color") == RED
    assert in_time.find_element(By.TAG_NAME, "td").value_of_css_property("color") != RED
    overdue = [r[0] for r in rows_of(browser, "#overdue")]
    assert overdue == ["evt-old"]
    screenshot("dpo")

    submit(browser, By.XPATH, "//button[text()='Replay and verify now']")
    api = call(console.base, "GET", "/api/audit/verify", console.tokens[Role.AUDITOR])
    said = browser.find_element(By.CSS_SELECTOR, "form [role=status]").text
    if api.json["ok"]:
        assert said == (
            f"All invariants hold: {api.json['events']} events of"
            f" {api.json['items']} items replayed."
        )
    else:
        assert said == f"{len(api.json['violations'])} violations found."
    screenshot("verified")

    submit(browser, By.XPATH, "//button[text()='Open the report']")
    month = datetime.now(UTC).astimezone().strftime("%Y-%m")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Disposal report")
    assert month[:4] in browser.title
    assert csp_refusals(browser) == []  # the report's own style is allowed
    screenshot("report")


def test_the_page_speaks_norwegian_when_the_browser_asks_or_the_switch_says(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.AUDITOR)
    submit(browser, By.LINK_TEXT, "Requests and audit")
    submit(browser, By.LINK_TEXT, "Norsk")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Forespørsler og revisjon"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nb"
    screenshot("norsk")
    submit(browser, By.LINK_TEXT, "English")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
