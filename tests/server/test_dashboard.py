"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a real server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.store.keys import Role

from .conftest import RunningServer

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{CHROMIUM} is missing: run scripts/system-deps.sh")
        pytest.skip("Chromium is not installed (scripts/system-deps.sh installs it)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_log_in_start_a_run_watch_it_live_and_approve_a_task(
    browser: object, sqlite_server: RunningServer
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A frame the page could not inflate or parse is logged, not thrown (the stream goes on).
    page.on(
        "console", lambda message: problems.append(message.text) if "stream frame" in message.text else None
    )
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(sqlite_server.url + "/")
    key = sqlite_server.keys[Role.OPERATOR]

    page.get_by_test_id("api-key").fill("baton_0000000000000000_wrong")
    page.get_by_test_id("login-button").click()
    playwright_api.expect(page.locator("#login-error")).to_contain_text("not valid")

    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("login-button").click()
    playwright_api.expect(page.get_by_test_id("who")).to_have_text("signed in as operator")
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert key not in stored and key not in page.content()

    page.get_by_test_id("workflow").select_option("fanout")
    page.get_by_test_id("inputs").fill(json.dumps({"n": 8}))
    page.get_by_test_id("start-button").click()
    playwright_api.expect(page.get_by_test_id("run-state")).to_have_text("succeeded", timeout=30_000)
    states = page.locator("#dag g.node").evaluate_all("nodes => nodes.map(n => n.dataset.state)")
    assert states == ["succeeded"] * 3
    assert page.locator("#dag g.node.critical").count() == 3
    playwright_api.expect(page.locator("#events li[data-type=complete]")).to_have_count(1)
    playwright_api.expect(page.locator("#dag g.node[data-task=square] text").nth(1)).to_contain_text(
        "8/8 items"
    )

    page.get_by_test_id("workflow").select_option("gated")
    page.get_by_test_id("inputs").fill("{}")
    page.get_by_test_id("start-button").click()
    approve = page.get_by_test_id("approve-release")
    playwright_api.expect(approve).to_be_visible(timeout=30_000)
    playwright_api.expect(page.get_by_test_id("run-state")).to_have_text("waiting")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-waiting.png"), full_page=True)
    approve.click()
    playwright_api.expect(page.get_by_test_id("run-state")).to_have_text("succeeded", timeout=30_000)
    playwright_api.expect(page.locator("#runs li")).to_have_count(2)
    playwright_api.expect(page.locator("#runs li .badge.succeeded")).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    # Chromium inflates, so the page asked for compressed frames, and every update above came through them.
    run_sockets = [url for url in sockets if "/ws/runs/" in url]
    assert run_sockets and all("compress=deflate" in url for url in run_sockets)
    assert problems == []
    page.close()


def test_a_viewer_cannot_start_runs_from_the_page(browser: object, sqlite_server: RunningServer) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(sqlite_server.url + "/")
    page.get_by_test_id("api-key").fill(sqlite_server.keys[Role.VIEWER])
    page.get_by_test_id("login-button").click()
    playwright_api.expect(page.get_by_test_id("who")).to_have_text("signed in as viewer")
    playwright_api.expect(page.get_by_test_id("start-button")).to_be_disabled()
    page.close()
