"""Legal's page in a real Chromium: a hold placed, in force, protecting the item."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from lethe.ops.access.roles import Role
from tests.support.browser import Shoot
from tests.support.console import (
    IMAGE,
    ITEM,
    SUBJECT,
    Console,
    rows_of,
    sign_in,
    submit,
)
from tests.support.http import call

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_hold_placed_is_in_force_and_protects_the_item(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.LEGAL)
    submit(browser, By.LINK_TEXT, "Legal holds")
    browser.find_element(By.ID, "h-ref").send_keys(ITEM)
    browser.find_element(By.ID, "h-case").send_keys("POL-5")
    browser.find_element(By.ID, "h-reason").send_keys("burglary investigation")
    submit(browser, By.XPATH, "//button[text()='Place the hold']")
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == "Hold placed."
    in_force = {(r[0], r[2]): r for r in rows_of(browser, "#holds-in-force")}
    assert in_force[(ITEM, "POL-5")][4] == "token:legal"
    # Sealed in the store (issue 13), opened for the page while the key lives.
    assert in_force[(ITEM, "POL-5")][3] == "burglary investigation"
    assert ("evt-console-held", "POL-7") in in_force
    screenshot("hold-in-force")

    # It protects the item: support's erasure leaves it alone.
    support = console.tokens[Role.SUPPORT]
    asked = {"subject_id": SUBJECT, "reason": "customer asked"}
    assert call(console.base, "POST", "/api/subjects/erasure", support, asked).status
    item = console.runtime.app.get_item(ITEM)
    assert item.order is None and item.holds["POL-5"]["by"] == "token:legal"

    release = f"//button[@aria-label='Release POL-5 ({ITEM})']"
    submit(browser, By.XPATH, release)
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == (
        "Hold released."
    )
    assert (ITEM, "POL-5") not in {
        (r[0], r[2]) for r in rows_of(browser, "#holds-in-force")
    }
    assert "POL-5" not in console.runtime.app.get_item(ITEM).holds
    screenshot("released")


def test_an_image_is_kept_for_the_police(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    before = console.runtime.app.get_item(IMAGE).due_at
    sign_in(browser, console, Role.LEGAL)
    browser.get(console.base + "/legal")
    browser.find_element(By.ID, "p-item").send_keys(IMAGE)
    browser.find_element(By.ID, "p-case").send_keys("POL-8")
    submit(browser, By.XPATH, "//button[text()='Keep for the police period']")
    after = console.runtime.app.get_item(IMAGE).due_at
    assert before is not None and after is not None and after > before
    notice = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert notice == (
        "The image is kept for the police until"
        f" {after.strftime('%Y-%m-%d %H:%M')} UTC ({IMAGE})"
    )
    screenshot("police")
    browser.get(console.base + "/legal")
    browser.find_element(By.ID, "p-item").send_keys(ITEM)
    browser.find_element(By.ID, "p-case").send_keys("POL-8")
    submit(browser, By.XPATH, "//button[text()='Keep for the police period']")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert ITEM in alert and "verification" in alert  # the domain's own message
    screenshot("police-refused")


def test_a_subject_wide_hold_from_the_form(
    browser: WebDriver, console: Console
) -> None:
    sign_in(browser, console, Role.LEGAL)
    browser.get(console.base + "/legal")
    browser.find_element(By.ID, "on-subject").click()
    browser.find_element(By.ID, "h-ref").send_keys(SUBJECT)
    browser.find_element(By.ID, "h-case").send_keys("POL-S")
    browser.find_element(By.ID, "h-reason").send_keys("whole customer")
    submit(browser, By.XPATH, "//button[text()='Place the hold']")
    subject = console.runtime.app.get_subject("sector-alarm", SUBJECT)
    assert subject.holds["POL-S"]["by"] == "token:legal"
    browser.find_element(By.ID, "rs-subject").send_keys(SUBJECT)
    browser.find_element(By.ID, "rs-case").send_keys("POL-S")
    submit(browser, By.XPATH, "//form[@action='/legal/release-subject']//button")
    assert "POL-S" not in console.runtime.app.get_subject("sector-alarm", SUBJECT).holds
