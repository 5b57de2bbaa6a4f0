"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a real server."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.engine import start_run
from baton.store.keys import Role
from baton.store.store import Store

from .conftest import BuildRun, RunningServer, running_server, wait_for_state

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


def _login(page: Any, server: RunningServer, role: Role = Role.OPERATOR) -> None:
    page.goto(server.url + "/")
    page.get_by_test_id("api-key").fill(server.keys[role])
    page.get_by_test_id("login-button").click()
    playwright_api.expect(page.get_by_test_id("who")).to_have_text(f"signed in as {role.value}")


def test_errors_name_their_task_runs_page_and_the_address_switches_runs(
    browser: object, sqlite_server: RunningServer, tmp_path: Path
) -> None:
    store = sqlite_server.store
    flaky = start_run(store, "baton_test_flows:flaky", {"path": str(tmp_path / "trace")})
    big = start_run(store, "baton_test_flows:fanout", {"n": 400})
    for _ in range(53):
        start_run(store, "baton.workflows.demo:workflow", {"documents": 0, "work_ms": 0})
    with sqlite_server.client(Role.VIEWER) as client:
        for run_id in (flaky, big):
            wait_for_state(client, run_id, {"succeeded", "failed"}, timeout=120)
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, sqlite_server)

    runs = page.locator("#runs li")
    playwright_api.expect(runs).to_have_count(50)
    page.get_by_test_id("more-runs").click()
    playwright_api.expect(runs).to_have_count(55)
    playwright_api.expect(page.get_by_test_id("more-runs")).to_be_hidden()

    page.evaluate(f"location.hash = '{flaky}'")
    playwright_api.expect(page.locator("#run-title")).to_contain_text(flaky)
    errors = page.locator("#events li[data-type=error]")
    playwright_api.expect(errors.first).to_be_visible()
    texts = errors.all_inner_texts()
    assert texts and not any("undefined" in t for t in texts), texts
    assert any("sometimes: attempt 1 failed" in t for t in texts), texts

    page.evaluate(f"location.hash = '{big}'")
    playwright_api.expect(page.locator("#run-title")).to_contain_text(big)
    playwright_api.expect(page.locator("#events li[data-type=complete]")).to_have_count(1, timeout=30_000)
    events = page.locator("#events")
    ids = events.locator("li").evaluate_all("items => items.map(i => i.value)")
    assert max(ids) >= 1000
    # every id is shown whole: the list's markers sit inside it, nothing overflows sideways
    assert events.evaluate("ol => getComputedStyle(ol).listStylePosition") == "inside"
    assert events.evaluate("ol => ol.scrollWidth <= ol.clientWidth")
    page.go_back()  # the address history switches runs too
    playwright_api.expect(page.locator("#run-title")).to_contain_text(flaky)
    assert problems == []
    page.close()


def test_the_build_graph_stays_readable(browser: object, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'dag.db'}")
    try:
        with running_server(store, run_worker=False) as idle:
            run_id = start_run(store, "baton.workflows.builder:workflow", {"idea": "a todo API", "out": "x"})
            page = browser.new_page(viewport={"width": 1000, "height": 800})  # type: ignore[attr-defined]
            _login(page, idle)
            page.evaluate(f"location.hash = '{run_id}'")
            nodes = page.locator("#dag g.node")
            playwright_api.expect(nodes.first).to_be_visible()
            # labels at 1:1 (≥ 11 px on screen) and the graph scrolls instead of shrinking
            sizes = page.locator("#dag g.node text").evaluate_all(
                "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
            )
            assert min(sizes) >= 11, sizes
            # one evaluation: the graph is redrawn (replaced) whenever an event arrives
            drawn = page.locator("#dag").evaluate(
                "d => { const s = d.querySelector('svg');"
                " return [s.getBoundingClientRect().width, +s.getAttribute('width'), d.clientWidth]; }"
            )
            assert drawn[0] == drawn[1]  # drawn at its own size, whatever the panel's width
            if drawn[1] > drawn[2]:  # wider than the panel: it scrolls
                assert page.locator("#dag").evaluate("b => b.scrollWidth > b.clientWidth")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-build-dag.png"), full_page=True)
            # no edge passes under a node other than its own two ends
            crossings = page.evaluate(
                """() => {
                  const rects = [...document.querySelectorAll('#dag g.node')].map(g => {
                    const r = g.querySelector('rect');
                    return {name: g.dataset.task, x: +r.getAttribute('x'), y: +r.getAttribute('y'),
                            w: +r.getAttribute('width'), h: +r.getAttribute('height')};
                  });
                  const bad = [];
                  for (const path of document.querySelectorAll('#dag path.edge')) {
                    const [from, to] = path.dataset.edge.split('->');
                    const length = path.getTotalLength();
                    for (let s = 0; s <= length; s += 4) {
                      const p = path.getPointAtLength(s);
                      for (const r of rects) {
                        if (r.name === from || r.name === to) continue;
                        if (p.x > r.x + 1 && p.x < r.x + r.w - 1 && p.y > r.y + 1 && p.y < r.y + r.h - 1)
                          bad.push(`${from}->${to} under ${r.name}`);
                      }
                    }
                  }
                  return [...new Set(bad)];
                }"""
            )
            assert crossings == []
            assert page.locator("#dag path.edge").count() >= 8
            page.close()
    finally:
        store.close()


def test_the_season_form_uploads_its_data_files(
    browser: object, sqlite_server: RunningServer, tmp_path: Path
) -> None:
    from baton.workflows.season import write_sample_data

    data = tmp_path / "data"
    write_sample_data(data, stores=8, weeks=104, seed=11)
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    _login(page, sqlite_server)
    page.get_by_test_id("workflow").select_option("season")
    # the paths are the server's: the form offers file choosers for them, and no path defaults
    inputs = json.loads(page.get_by_test_id("inputs").input_value())
    assert "out" not in inputs and "data" not in inputs
    playwright_api.expect(page.get_by_test_id("file-actuals")).to_be_visible()
    inputs.update(request="12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC")
    inputs["today"] = "2026-11-22"
    inputs["policy"] = {"backtest_sample": 3}
    page.get_by_test_id("inputs").fill(json.dumps(inputs))
    page.get_by_test_id("file-data").set_input_files([str(p) for p in sorted(data.iterdir())])
    page.get_by_test_id("start-button").click()
    playwright_api.expect(page.get_by_test_id("run-state")).to_have_text(
        re.compile("succeeded|failed"), timeout=120_000
    )
    run_id = page.locator("#run-title").inner_text().split("·")[-1].strip()
    with sqlite_server.client(Role.VIEWER) as client:
        run = client.get(f"/runs/{run_id}").json()
    assert run["state"] == "succeeded", (run["error"], run["inputs"])
    folder = Path(sqlite_server.settings.workspace).resolve() / "runs" / run_id
    assert sorted(p.name for p in (folder / "data").iterdir()) == sorted(p.name for p in data.iterdir())
    assert any((folder / "out").rglob("*.md"))
    assert page.locator("#start-error").inner_text() == ""
    # the plan's summary, as its workflow reports it: a row per category and one for the backtest
    playwright_api.expect(page.get_by_test_id("report-headline")).to_have_text(run["report"]["headline"])
    rows = page.locator("[data-testid=report-table] tbody tr")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.row)") == [r["id"] for r in run["report"]["rows"]]
    page.close()


def _row_looks(page: Any, row_id: str) -> dict[str, str]:
    return page.locator(f"[data-testid=report-table] tr[data-row='{row_id}']").evaluate(
        """r => ({outcome: r.dataset.outcome, background: getComputedStyle(r).backgroundColor,
                  status: getComputedStyle(r.querySelector('td.status')).fontWeight,
                  mark: r.querySelector('td.mark').textContent,
                  reason: r.querySelector('td.reason').textContent})"""
    )


def test_the_report_appears_live_and_rows_left_over_stand_out(
    browser: object, sqlite_server: RunningServer
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    _login(page, sqlite_server)
    page.get_by_test_id("workflow").select_option("graded")
    page.get_by_test_id("inputs").fill("{}")
    page.get_by_test_id("start-button").click()
    approve = page.get_by_test_id("approve-publish")
    playwright_api.expect(approve).to_be_visible(timeout=30_000)
    # `mark` succeeded, `publish` waits: no report yet, and the page says what it waits for
    playwright_api.expect(page.get_by_test_id("report-pending")).to_have_text(
        "the report appears once mark, publish succeeded"
    )
    page.evaluate("window.sameDocument = true")
    approve.click()
    table = page.get_by_test_id("report-table")
    playwright_api.expect(table).to_be_visible(timeout=30_000)
    assert page.evaluate("window.sameDocument === true")  # shown live, without reloading the page
    playwright_api.expect(page.get_by_test_id("report-verdict")).to_have_text("failed")
    playwright_api.expect(page.get_by_test_id("report-headline")).to_have_text(
        "1/3 subjects reach the pass mark"
    )
    met, failed, left_out = (_row_looks(page, row) for row in ("maths", "art", "music"))
    assert (met["outcome"], failed["outcome"], left_out["outcome"]) == ("met", "failed", "not_implemented")
    assert left_out["reason"] == "music was not taken" and failed["reason"] == "4 < 5"
    # rows left out or failed stand out: their own background, a bold status and a mark, not colour alone
    assert len({met["background"], failed["background"], left_out["background"]}) == 3
    assert int(failed["status"]) >= 700 and int(left_out["status"]) >= 700 and int(met["status"]) < 700
    assert (met["mark"], failed["mark"], left_out["mark"]) == ("✔", "✘", "⊘")
    assert problems == []
    page.close()


def test_a_builds_report_shows_its_requirements_table(browser: object, build_run: BuildRun) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    _login(page, build_run.server)
    page.evaluate(f"location.hash = '{build_run.run_id}'")
    playwright_api.expect(page.locator("#run-title")).to_contain_text(build_run.run_id)
    with build_run.server.client(Role.VIEWER) as client:
        run = wait_for_state(client, build_run.run_id, {"succeeded", "failed", "cancelled"}, timeout=280)
        assert run["state"] == "succeeded", run["error"]
        requirements = client.get(f"/runs/{build_run.run_id}/outputs").json()["deploy"]["requirements"]
    table = page.get_by_test_id("report-table")
    playwright_api.expect(table).to_be_visible(timeout=30_000)
    playwright_api.expect(page.get_by_test_id("report-headline")).to_have_text(run["report"]["headline"])
    shown = table.locator("tbody tr").evaluate_all(
        "rs => rs.map(r => [r.dataset.row, r.dataset.outcome, r.querySelector('td.reason').textContent])"
    )
    outcome = {"honoured": "met", "not_implemented": "not_implemented", "failed": "failed"}
    assert shown == [
        [q["id"], outcome.get(q["status"], "unchecked"), q["reason"] or ""] for q in requirements
    ]
    left_out = next(q["id"] for q in requirements if q["status"] == "not_implemented")
    honoured = next(q["id"] for q in requirements if q["status"] == "honoured")
    assert _row_looks(page, left_out)["background"] != _row_looks(page, honoured)["background"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-build-report.png"), full_page=True)
    assert problems == []
    page.close()
