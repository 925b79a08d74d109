"""A real headless Chromium (Debian's `chromium` and `chromium-driver`) for tests.

scripts/test.sh installs both when they are missing. Screenshots go to
$LETHE_TEST_ARTEFACTS/screenshots/<test>/ (default var/test-artefacts), a
folder CI can collect; each path is printed as it is written.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

ARTEFACTS = Path(os.environ.get("LETHE_TEST_ARTEFACTS", "var/test-artefacts"))
WIDTH, HEIGHT = 1280, 900

Shoot = Callable[[str], Path]
AUDIT_JS = Path(__file__).with_name("a11y_audit.js").read_text(encoding="utf-8")


def audit_page(browser: WebDriver) -> list[str]:
    """Language, one h1, heading levels, landmarks, labels, names, AA contrast."""
    found: list[str] = browser.execute_script(AUDIT_JS)
    return found


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            "chromium and chromedriver are not installed: run scripts/test.sh, which"
            " installs Debian's chromium and chromium-driver",
            pytrace=False,
        )
    return browser, driver


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    """One browser for the session; each test starts from no cookies."""
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}",
                     "--lang=en-GB"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports
    # The driver's own path: Selenium Manager would otherwise try to download one.
    running = webdriver.Chrome(options=options, service=Service(driver))
    yield running
    running.quit()


@pytest.fixture
def browser(chromium: WebDriver) -> Iterator[WebDriver]:
    chromium.delete_all_cookies()
    chromium.set_window_size(WIDTH, HEIGHT)
    chromium.get_log("browser")  # drained: what earlier tests logged is theirs
    yield chromium
    chromium.delete_all_cookies()


@pytest.fixture
def screenshot(browser: WebDriver, request: pytest.FixtureRequest) -> Shoot:
    """shoot("receipt") saves the whole page as <test>/<n>-receipt.png."""
    folder = (
        ARTEFACTS / "screenshots" / re.sub(r"[^\w.-]+", "_", request.node.name)[:80]
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken: list[Path] = []

    def shoot(name: str) -> Path:
        height, chrome = browser.execute_script(
            "return [document.documentElement.scrollHeight,"
            " window.outerHeight - window.innerHeight]"
        )
        browser.set_window_size(WIDTH, max(HEIGHT, int(height) + int(chrome)))
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot written to {path}"
        browser.set_window_size(WIDTH, HEIGHT)
        taken.append(path)
        print(f"screenshot: {path}")
        return path

    return shoot


def csp_refusals(browser: WebDriver) -> list[str]:
    """What the Content-Security-Policy refused (a script, a style) since the last
    call, as the browser's console said it."""
    entries = browser.get_log("browser")
    return [
        str(e["message"])
        for e in entries
        if "Content Security Policy" in str(e["message"])
    ]
