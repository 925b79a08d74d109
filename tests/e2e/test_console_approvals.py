"""Four-eyes and OpenID Connect sign-in through the console, in a real Chromium."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from lethe.ops.access.roles import Role
from lethe.ops.access.tokens import TokenStore
from tests.support.browser import Shoot
from tests.support.console import ITEM, SUBJECT, Console, rows_of, sign_in, submit
from tests.support.http import Issuer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _approve(browser: WebDriver, console: Console, approval: str) -> str:
    browser.get(console.base + "/approvals")
    browser.find_element(By.ID, "approval_id").send_keys(approval)
    browser.find_element(By.ID, "a-subject").send_keys(SUBJECT)
    submit(browser, By.CSS_SELECTOR, "main form button")
    shown = browser.find_elements(By.CSS_SELECTOR, "[role=alert], [role=status]")
    return shown[0].text


@pytest.mark.parametrize("four_eyes", ["erase-subject"])
def test_an_erasure_waits_for_a_second_person_who_approves_it(
    browser: WebDriver, console: Console, screenshot: Shoot, four_eyes: str
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    browser.get(console.base + "/support")
    browser.find_element(By.ID, "subject_id").send_keys(SUBJECT)
    submit(browser, By.CSS_SELECTOR, "main form button")
    submit(browser, By.ID, "erase-start")
    browser.find_element(By.ID, "reason").send_keys("asked in writing")
    submit(browser, By.ID, "confirm")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Waiting for a second person"
    approval = browser.find_element(By.ID, "approval-id").text
    app = console.runtime.app
    assert app.get_item(ITEM).order is None  # nothing happened yet
    screenshot("awaiting")
    assert _approve(browser, console, approval) == (
        "token:support asked for this change: four-eyes needs a different person"
        " to approve it"
    )
    ola = TokenStore(console.runtime.views).create(
        "ola", frozenset({Role.SUPPORT}), "test", datetime.now(UTC), None
    )
    sign_in(browser, console, Role.SUPPORT, ola)
    browser.get(console.base + "/approvals")
    (waiting,) = rows_of(browser, "#waiting")
    assert waiting[:2] == [approval, "erase a customer"]
    assert waiting[4] == "token:support"
    screenshot("waiting")
    assert _approve(browser, console, approval) == "Approved and carried out."
    assert rows_of(browser, "#waiting") == []
    screenshot("approved")
    assert app.get_item(ITEM).order is not None
    requests = app.get_subject("sector-alarm", SUBJECT).requests
    assert len(requests) == 1
    assert _approve(browser, console, approval).endswith("was already given")


def test_an_oidc_bearer_signs_in_and_the_events_name_its_user(
    browser: WebDriver, console: Console, console_issuer: Issuer
) -> None:
    token = console_issuer.token(preferred_username="lise", groups=["arc-legal"])
    sign_in(browser, console, Role.LEGAL, token)
    assert "oidc:lise" in browser.find_element(By.CSS_SELECTOR, ".session").text
    browser.get(console.base + "/legal")
    browser.find_element(By.ID, "h-ref").send_keys(ITEM)
    browser.find_element(By.ID, "h-case").send_keys("POL-O")
    browser.find_element(By.ID, "h-reason").send_keys("from Keycloak")
    submit(browser, By.XPATH, "//button[text()='Place the hold']")
    assert console.runtime.app.get_item(ITEM).holds["POL-O"]["by"] == "oidc:lise"
