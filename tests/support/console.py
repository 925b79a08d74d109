"""A console over a real uvicorn and a real SQLite store, with a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from lethe.ops.access.roles import Role
from lethe.ops.access.settings import AccessSettings
from lethe.ops.http.app import build_app
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support.http import Issuer, ingest_one, live_server, token_per_role
from tests.support.ingest import lethe_env

SUBJECT = "cust-console-1"
ITEM = "evt-console-1"
HELD = "evt-console-held"
INVOICE = "inv-console-1"
IMAGE = "img-console-1"


@dataclass(frozen=True)
class Console:
    base: str
    tokens: dict[Role, str]
    runtime: Runtime


@pytest.fixture(scope="session")
def console_issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.close()


@pytest.fixture
def four_eyes() -> str:
    """LETHE_FOUR_EYES for the console; a test parametrizes it to need approval."""
    return ""


@pytest.fixture
def console_store() -> str:
    """The console's store: SQLite, the embedded default; a test may ask "postgres"."""
    return "sqlite"


@pytest.fixture
def console(
    request: pytest.FixtureRequest,
    console_store: str,
    console_issuer: Issuer,
    four_eyes: str,
) -> Iterator[Console]:
    """A customer with an alarm event, a held one, an invoice and an image."""
    name = "pg_schema_env" if console_store == "postgres" else "sqlite_env"
    store_env: dict[str, str] = request.getfixturevalue(name)
    env = {
        **lethe_env(store_env, "127.0.0.1:1", "t", "g"),
        "LETHE_FOUR_EYES": four_eyes,
        **console_issuer.env("arc-legal=legal"),
    }
    runtime = build_runtime(Settings.from_env(env))
    ingest_one(runtime.app, ITEM, SUBJECT, "alarm-event")
    ingest_one(runtime.app, HELD, SUBJECT, "alarm-event")
    ingest_one(runtime.app, INVOICE, SUBJECT, "invoice")
    ingest_one(runtime.app, IMAGE, SUBJECT, "verification-image",
               kind="verification-image")  # fmt: skip
    runtime.catch_up()
    runtime.app.place_hold(HELD, "POL-7", "police case", "token:legal",
                           datetime.now(UTC))  # fmt: skip
    runtime.catch_up()
    by_role = token_per_role(runtime.views)
    with live_server(build_app(runtime, AccessSettings.from_env(env))) as base:
        yield Console(base, by_role, runtime)
    runtime.app.close()


def sign_in(
    browser: WebDriver, console: Console, role: Role, token: str | None = None
) -> None:
    browser.get(console.base + "/login")
    browser.find_element(By.ID, "token").send_keys(token or console.tokens[role])
    submit(browser, By.CSS_SELECTOR, "main form button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "What would you like to do?"


def submit(browser: WebDriver, by: str, value: str) -> None:
    """Click a button that loads a new page, and wait until the old one is gone."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(by, value).click()

    def replaced(_: WebDriver) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:  # stale, or "does not belong to the document"
            return browser.execute_script("return document.readyState") == "complete"
        return False

    WebDriverWait(browser, 30).until(replaced)


def rows_of(browser: WebDriver, table: str) -> list[list[str]]:
    body = browser.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in body]
