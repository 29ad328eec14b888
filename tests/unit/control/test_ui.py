"""The built web UI at `/`: assets cached for good, index revalidated, SPA fallback, open without a key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from berth.control.app import create_app
from berth.settings import Settings


@pytest.fixture
def ui_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ui"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>berth ui</title>")
    (folder / "assets" / "app-1a2b3c.js").write_text("console.log('berth')")
    monkeypatch.setattr("berth.control.api.ui.UI_DIR", folder)
    return folder


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", worker_ports="39100-39104", api_key="k3y")  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_ui_is_served_with_spa_fallback_and_cache_rules(ui_dir: Path, api: TestClient) -> None:
    index = api.get("/")
    assert "<title>berth ui</title>" in index.text
    assert index.headers["cache-control"] == "no-cache"
    asset = api.get("/assets/app-1a2b3c.js")
    assert asset.text == "console.log('berth')"
    assert "immutable" in asset.headers["cache-control"]
    deep_link = api.get("/deployments/minilm")
    assert "<title>berth ui</title>" in deep_link.text


def test_the_api_stays_guarded_and_unknown_api_paths_are_json(ui_dir: Path, api: TestClient) -> None:
    assert api.get("/api/v1/deployments").status_code == 401
    assert api.get("/api/v1/nope", headers={"X-API-Key": "k3y"}).json()["error"]["code"] == "not_found"
    assert api.get("/../../etc/passwd").status_code in (200, 404)
    assert "root:" not in api.get("/..%2f..%2fetc/passwd").text


def test_without_a_built_ui_the_root_says_how_to_build_it(
    tmp_path: Path, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("berth.control.api.ui.UI_DIR", tmp_path / "missing")
    root = api.get("/")
    assert root.status_code == 200
    assert "make ui" in root.text
