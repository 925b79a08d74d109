"""Who may use which page of the console, sign-in, CSRF, keyboard and a11y checks."""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from lethe.ops.access.roles import Role
from lethe.ops.access.tokens import TokenStore
from tests.support.browser import Shoot, audit_page
from tests.support.console import (
    ITEM,
    SUBJECT,
    Console,
    sign_in,
    submit,
)
from tests.support.http import call

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.mark.parametrize(
    ("role", "page", "needs"),
    [
        (Role.SUPPORT, "/legal", "token:support may not place or release a legal"
         " hold: that needs the role legal"),
        (Role.LEGAL, "/support", "token:legal may not erase a subject: that needs"
         " the role support"),
        (Role.SUPPORT, "/dpo", "token:support may not read the audit trail: that"
         " needs the role auditor"),
        (Role.OPERATOR, "/support", "token:operator may not erase a subject: that"
         " needs the role support"),
    ],
)  # fmt: skip
def test_a_page_refused_for_a_role_says_which_role_it_needs(
    browser: WebDriver, console: Console, screenshot: Shoot,
    role: Role, page: str, needs: str,
) -> None:  # fmt: skip
    sign_in(browser, console, role)
    browser.get(console.base + page)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not for your role"
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == needs
    screenshot("refused")


def _post(console: Console, path: str, role: Role, form: dict[str, str]) -> int:
    request = urllib.request.Request(
        console.base + path, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    request.add_header("Cookie", f"lethe_session={console.tokens[role]}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _csrf(browser: WebDriver) -> str:
    field = browser.find_element(By.CSS_SELECTOR, "input[name=csrf]")
    return str(field.get_attribute("value"))


def test_a_forms_post_carries_the_session_principal_and_its_csrf_token(
    browser: WebDriver, console: Console
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    support_csrf = _csrf(browser)
    hold = {"target": "item", "ref": ITEM, "case_ref": "X-1", "reason": "forged"}
    # Support, with a valid token and CSRF of its own, is refused legal's form.
    assert _post(console, "/legal/holds", Role.SUPPORT,
                 {**hold, "csrf": support_csrf}) == 403  # fmt: skip
    # Legal without the CSRF token of its session: refused too.
    assert _post(console, "/legal/holds", Role.LEGAL, hold) == 403
    assert _post(console, "/legal/holds", Role.LEGAL,
                 {**hold, "csrf": support_csrf}) == 403  # fmt: skip
    assert "X-1" not in console.runtime.app.get_item(ITEM).holds
    sign_in(browser, console, Role.LEGAL)
    status = _post(console, "/legal/holds", Role.LEGAL,
                   {**hold, "csrf": _csrf(browser)})  # fmt: skip
    assert status == 200  # after the redirect to the legal page
    assert console.runtime.app.get_item(ITEM).holds["X-1"]["by"] == "token:legal"


def test_sign_in_refuses_a_bad_token_and_sign_out_ends_the_session(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    browser.get(console.base + "/support")
    assert browser.current_url.endswith("/login?m=signin")
    browser.find_element(By.ID, "token").send_keys("lethe_nope.nope")
    submit(browser, By.CSS_SELECTOR, "main form button")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == (
        "the API token is not valid"
    )
    screenshot("bad-token")
    sign_in(browser, console, Role.SUPPORT)
    cookie = browser.get_cookie("lethe_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    submit(browser, By.XPATH, "//button[text()='Sign out']")
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == (
        "You are signed out."
    )
    assert browser.get_cookie("lethe_session") is None
    browser.get(console.base + "/support")
    assert browser.current_url.endswith("/login?m=signin")


def test_the_keyboard_alone_reaches_and_presses_the_erase_confirmation(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    browser.get(console.base + "/support")
    _tab_to(browser, "subject_id").send_keys(SUBJECT + Keys.ENTER)
    _wait_for_h1(browser, "Customer")
    button = _tab_to(browser, "erase-start")
    button.send_keys(Keys.ENTER)
    _wait_for_h1(browser, "Erase this customer? Check first")
    _tab_to(browser, "reason").send_keys("asked on the phone")
    confirm = _tab_to(browser, "confirm")
    outline = browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle"
    )
    assert outline == "solid"  # the focus is visible
    screenshot("focus-on-confirm")
    confirm.send_keys(Keys.ENTER)
    _wait_for_h1(browser, "Erasure receipt")
    assert console.runtime.app.get_item(ITEM).order is not None


def _tab_to(browser: WebDriver, element_id: str, most: int = 60) -> object:
    """Press Tab until the element has the focus; fail if it is never reached."""
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(most):
        active = browser.switch_to.active_element
        if active.get_attribute("id") == element_id:
            return active
        (active if active.tag_name != "html" else body).send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached #{element_id}")


def _wait_for_h1(browser: WebDriver, text: str) -> None:
    # The old page's h1 can go stale between finding it and reading it while
    # the next page loads: try again rather than fail.
    WebDriverWait(
        browser, 30, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda b: b.find_element(By.TAG_NAME, "h1").text == text)


def test_every_page_has_a_language_one_h1_landmarks_labels_and_aa_contrast(
    browser: WebDriver, console: Console
) -> None:
    seen = {}
    browser.get(console.base + "/login")
    seen["login"] = audit_page(browser)
    sign_in(browser, console, Role.SUPPORT)
    for page in ("/", "/support", "/approvals"):
        browser.get(console.base + page)
        seen[page] = audit_page(browser)
    browser.find_element(By.LINK_TEXT, "Customers").click()
    browser.find_element(By.ID, "subject_id").send_keys(SUBJECT)
    submit(browser, By.CSS_SELECTOR, "main form button")
    seen["subject"] = audit_page(browser)
    submit(browser, By.ID, "erase-start")
    seen["preview"] = audit_page(browser)
    for role, page in ((Role.LEGAL, "/legal"), (Role.AUDITOR, "/dpo")):
        sign_in(browser, console, role)
        browser.get(console.base + page)
        seen[page] = audit_page(browser)
    browser.get(console.base + "/support")  # refused: an alert, same checks
    seen["refused"] = audit_page(browser)
    assert {page: found for page, found in seen.items() if found} == {}
    assert len(seen) == 9
    # The check can fail: an unlabelled input and a skipped heading are found.
    browser.execute_script(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<h4>deep</h4><input id=\"bare\">')"
    )
    found = audit_page(browser)
    assert "unlabelled input bare" in found
    assert any(p.startswith("heading skips to H4") for p in found)
    assert re.fullmatch(
        r"en|nb", browser.find_element(By.TAG_NAME, "html").get_attribute("lang") or ""
    )


def test_a_revoked_token_ends_the_session_with_a_reason(
    browser: WebDriver, console: Console
) -> None:
    sign_in(browser, console, Role.SUPPORT)
    token_id = console.tokens[Role.SUPPORT].removeprefix("lethe_").split(".")[0]
    TokenStore(console.runtime.views).revoke(token_id, "test", datetime.now(UTC))
    browser.get(console.base + "/support")
    assert browser.current_url.endswith("/login?m=ended")
    assert (
        "expired or revoked"
        in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    )
    assert browser.get_cookie("lethe_session") is None


def test_pages_are_never_framed_nor_cached_and_redirect_only_within_the_console(
    console: Console,
) -> None:
    cookie = {"Cookie": f"lethe_session={console.tokens[Role.SUPPORT]}"}
    page = call(console.base, "GET", "/support", headers=cookie)
    assert page.status == 200
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    for back, where in (("//evil.example/x", "/"), ("https://evil.example", "/"),
                        ("/%5Cevil.example", "/"),
                        ("/dpo", "/dpo")):  # fmt: skip
        status, location = _redirect(console, f"/language/nb?back={back}")
        assert (status, location) == (303, where), back


def _redirect(console: Console, path: str) -> tuple[int, str]:
    host, port = console.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    connection.close()
    return answer.status, answer.headers.get("Location", "")


def test_what_people_typed_is_shown_as_text_never_run(
    browser: WebDriver, console: Console, screenshot: Shoot
) -> None:
    sign_in(browser, console, Role.LEGAL)
    browser.get(console.base + "/legal")
    browser.find_element(By.ID, "h-ref").send_keys(ITEM)
    browser.find_element(By.ID, "h-case").send_keys("<img src=x onerror=alert(1)>")
    browser.find_element(By.ID, "h-reason").send_keys("<script>alert(2)</script>")
    submit(browser, By.XPATH, "//button[text()='Place the hold']")
    table = browser.find_element(By.ID, "holds-in-force").text
    assert "<img src=x onerror=alert(1)>" in table
    assert "<script>alert(2)</script>" in table
    assert browser.find_elements(By.CSS_SELECTOR, "#holds-in-force img") == []
    screenshot("escaped")


def test_the_browsers_language_is_the_default(console: Console) -> None:
    asked = {"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"}
    page = call(console.base, "GET", "/login", headers=asked)
    assert '<html lang="nb">' in page.text
    assert "<h1>Logg inn</h1>" in page.text
    english = call(console.base, "GET", "/login", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
