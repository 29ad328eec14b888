"""The chat playground of a text-generation deployment, in Chromium against a real control plane.

The tiny Llama answers through the gateway's `/models/{name}/v1/chat/completions`. The page's answer
is checked against the same greedy request made over HTTP without the browser, the text must grow on
screen as it streams, and Stop must end a long answer early.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests import tiny_models
from tests.e2e.conftest import ConsoleLog
from tests.integration.conftest import ControlPlaneProcess

if TYPE_CHECKING:
    from playwright.sync_api import Locator, LocatorAssertions, Page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NAME = "chat-e2e"
STATS = re.compile(r"^Last answer: [\d.]+ ms to first token · [\d.]+ tokens/s · (\d+) tokens")
# Every length the last answer's text had on screen, recorded by the page itself as it changes.
WATCH_LENGTHS = """() => {
    window.lengths = [];
    const list = document.querySelector("#playground-title").parentElement;
    new MutationObserver(() => {
        const answers = list.querySelectorAll(".chat-assistant .generated-text");
        const last = answers[answers.length - 1];
        if (last) window.lengths.push(last.textContent.length);
    }).observe(list, { subtree: true, childList: true, characterData: true });
}"""


def expect(locator: Locator) -> LocatorAssertions:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_chat_streams_an_answer_with_its_timing_and_stop_ends_one(
    control_plane: ControlPlaneProcess, page: Page, console: ConsoleLog, tmp_path: Path, shots: Path
) -> None:
    model = tiny_models.build_llama(tmp_path / "llama")
    accepted = control_plane.api.post("/api/v1/deploy", json={"name": NAME, "model": {"source": str(model)}})
    assert accepted.status_code == 202, accepted.text
    deployed = control_plane.wait_state(NAME, "ready", "failed")
    assert deployed["state"] == "ready", control_plane.worker_log(NAME)
    question = "hello there, tell me something"
    expected = httpx.post(
        f"{control_plane.url}/models/{NAME}/v1/chat/completions",
        json={
            "model": NAME,
            "messages": [{"role": "user", "content": question}],
            "max_tokens": 48,
            "temperature": 0,
        },
        timeout=60,
    ).json()

    page.goto(f"{control_plane.url}/deployments/{NAME}")
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    expect(page.get_by_label(re.compile("^Input text"))).to_have_count(0)  # not the /predict form
    page.get_by_label("Max tokens").fill("48")
    page.get_by_label(re.compile("^Temperature")).fill("0")
    page.get_by_label(re.compile("^Message")).fill(question)
    page.evaluate(WATCH_LENGTHS)
    page.get_by_role("button", name="Send").click()

    stats = page.get_by_test_id("chat-stats")
    expect(stats).to_have_text(STATS)
    answer = page.locator(".chat-assistant .generated-text").last
    expect(answer).to_have_text(expected["choices"][0]["message"]["content"])
    counted = STATS.match(stats.inner_text())
    assert counted is not None
    assert int(counted.group(1)) == expected["usage"]["completion_tokens"]
    lengths = page.evaluate("window.lengths")
    assert len(set(lengths)) > 3, f"the answer appeared in {len(set(lengths))} steps, not streamed: {lengths}"
    expect(page.locator(".chat-user")).to_have_text(re.compile(re.escape(question)))
    page.screenshot(path=shots / "chat-01-answer.png", full_page=True)

    # A long answer, stopped once it has begun: it stays as far as it got, and the chat can go on.
    page.get_by_role("button", name="New chat").click()
    expect(page.get_by_test_id("chat-messages")).to_have_count(0)
    page.get_by_label("Max tokens").fill("400")
    page.get_by_label(re.compile("^Message")).fill("tell me a very long story")
    page.get_by_label(re.compile("^Message")).press("Enter")
    expect(page.get_by_role("button", name="Stop answer")).to_be_enabled()
    expect(answer).to_have_text(re.compile(r"\S{3}"))
    page.get_by_role("button", name="Stop answer").click()
    expect(stats).to_have_text(re.compile(r"\(stopped\)$"))
    stopped = STATS.match(stats.inner_text())
    assert stopped is not None
    assert int(stopped.group(1)) < 400
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.get_by_role("button", name="Stop answer")).to_be_disabled()
    page.screenshot(path=shots / "chat-02-stopped.png", full_page=True)
    console.assert_clean()
