"""The support flow in a real Chromium: find → preview → erase → receipt."""

from __future__ import annotations

import base64

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from lethe.ops.access.roles import Role
from tests.support.browser import Shoot, csp_refusals
from tests.support.console import (
    HELD,
    INVOICE,
    ITEM,
    SUBJECT,
    Console,
    rows_of,
    sign_in,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def find_customer(browser: WebDriver, subject: str) -> None:
    submit(browser, By.LINK_TEXT, "Customers")
    browser.find_element(By.ID, "subject_id").send_keys(subject)
    submit(browser, By.CSS_SELECTOR, "main form button")


@pytest.mark.parametrize("console_store", ["sqlite", "postgres"])
def test_support_finds_previews_erases_and_gets_a_receipt(
    browser: WebDriver, console: Console, screenshot: Shoot, console_store: str
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    find_customer(browser, SUBJECT)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Customer"
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h3")]
    assert headings == ["alarm-event", "invoice", "verification-image"]
    held_row = [r for r in rows_of(browser, "main") if r[0] == HELD][0]
    assert held_row[3] == "POL-7"
    screenshot("subject")

    submit(browser, By.XPATH, "//button[text()='Erase this customer…']")
    fates = {r[0]: r[2] for r in rows_of(browser, "main")}
    assert fates[ITEM] == "goes now"
    assert fates[INVOICE] == "kept by law"
    assert fates[HELD] == "held by a legal hold"
    assert console.runtime.app.get_item(ITEM).order is None  # a preview only
    screenshot("preview")

    browser.find_element(By.ID, "reason").send_keys("customer asked by phone")
    browser.find_element(By.ID, "ticket").send_keys("T-77")
    submit(browser, By.ID, "confirm")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Erasure receipt"
    app = console.runtime.app
    request_id = browser.find_element(By.ID, "request-id").text
    assert request_id in app.get_subject("sector-alarm", SUBJECT).requests
    sections = {
        s.find_element(By.TAG_NAME, "h2").text: s.text
        for s in browser.find_elements(By.CSS_SELECTOR, "main section")
    }
    assert ITEM in sections["What goes now"]
    assert INVOICE in sections["What the law keeps, and until when"]
    assert HELD in sections["What a legal hold or a restriction keeps"]
    assert "token:support" in browser.find_element(By.CSS_SELECTOR, ".facts").text
    assert app.get_item(ITEM).order is not None
    assert app.get_item(HELD).order is None
    assert app.get_item(INVOICE).kept_for_legal_obligation
    screenshot("receipt")
    assert csp_refusals(browser) == []  # the print script was allowed, not refused
    _prints_without_the_console_around_it(browser, screenshot)


def _prints_without_the_console_around_it(browser: WebDriver, shoot: Shoot) -> None:
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        for hidden in ("header.top", "footer.bottom", ".no-print"):
            assert not browser.find_element(By.CSS_SELECTOR, hidden).is_displayed()
        assert browser.find_element(By.ID, "request-id").is_displayed()
        shoot("receipt-print")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(browser.print_page())
    assert pdf.startswith(b"%PDF")
    folder = shoot("after-print").parent
    (folder / "receipt.pdf").write_bytes(pdf)


def test_restrict_and_lift_from_the_customers_page(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    find_customer(browser, SUBJECT)
    browser.find_element(By.ID, "r-ticket").send_keys("T-9")
    browser.find_element(By.ID, "r-reason").send_keys("accuracy contested")
    submit(browser, By.XPATH, "//button[text()='Restrict']")
    status = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert status == "Restriction recorded."
    app = console.runtime.app
    subject = app.get_subject("sector-alarm", SUBJECT)
    assert subject.restrictions["T-9"]["by"] == "token:support"
    assert "subject:T-9" in app.get_item(ITEM).restrictions  # carried to each item
    screenshot("restricted")
    browser.find_element(By.ID, "l-ticket").send_keys("T-9")
    submit(browser, By.XPATH, "//button[text()='Lift']")
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == (
        "Restriction lifted."
    )
    assert "subject:T-9" not in app.get_item(ITEM).restrictions


def test_an_unknown_customer_is_said_so_in_an_alert(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    find_customer(browser, "nobody-at-all")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "nobody-at-all" not in alert  # the id is not echoed back
    assert alert  # the domain's one-line message
    screenshot("unknown")
