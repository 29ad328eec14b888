"""The web UI in headless Chromium (Debian's, driven by Playwright) against a real control plane."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import BROWSER_TESTS, CHROMIUM, require, system_problem
from tests.integration.conftest import control_plane, control_plane_factory  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"
# NOTE: Debian's chromium, not a Playwright download; quiet flags keep it off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here (Chromium, the built UI, Playwright), or None when they can."""
    return system_problem(BROWSER_TESTS)


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of a page; tests fail on any they did not expect."""

    errors: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def record_exception(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def assert_clean(self, *allowed: str) -> None:
        """No errors but those matching `allowed` (regexes, e.g. the browser's line for an expected 404)."""
        unexpected = [e for e in self.errors if not any(re.search(pattern, e) for pattern in allowed)]
        assert not unexpected, "errors in the browser console:\n" + "\n".join(unexpected)


def failed_load(*statuses: int) -> str:
    """The line Chromium logs for a response with one of `statuses`, which the page expected."""
    codes = "|".join(str(status) for status in statuses)
    return rf"Failed to load resource: the server responded with a status of ({codes})\b"


# NOTE: module scope, not session: Playwright's sync API keeps an asyncio loop running on this thread
# until it stops, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(BROWSER_TESTS)  # skipped only when opted out; a missing prerequisite fails
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A fresh browser context (own sessionStorage) at a laptop-sized viewport."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.on("console", console.record)
    tab.on("pageerror", console.record_exception)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
