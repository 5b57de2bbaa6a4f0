"""Bad input found by a user probing the CLI: each gets one line (no traceback), exit code 2, and is refused
before a run is stored — the store file is not even created. Also the read commands' output contracts
(`events --json` one object per line, every event, `stats` over every run)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from baton.workflows.season import write_sample_data

REQUEST = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"


def baton(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "BATON_CONFIG"}
    environment |= {
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
        "COLUMNS": "80",  # narrow, as a terminal may be: nothing machine-readable may wrap
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def refused(result: subprocess.CompletedProcess[str], *phrases: str) -> str:
    output = " ".join((result.stdout + result.stderr).split())  # undo the console's wrapping
    assert result.returncode == 2, output
    assert "Traceback" not in output and "error:" in output, output
    for phrase in phrases:
        assert phrase in output, output
    return output


@pytest.fixture(scope="module")
def season_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("data")
    write_sample_data(directory, stores=6, weeks=60, seed=3)
    return directory


def test_season_bad_files_and_folders_are_refused_before_a_run_is_stored(
    tmp_path: Path, season_data: Path
) -> None:
    plan = ("season", "plan", REQUEST)
    refused(baton(tmp_path, *plan, "--data", str(tmp_path / "absent")), "--data", "is not there")
    refused(baton(tmp_path, *plan, "--data", str(season_data / "stores.csv")), "is a file")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "stores.csv").write_text((season_data / "stores.csv").read_text())
    lines = (season_data / "historical_sales.csv").read_text().splitlines()
    week, store, category, _, price = lines[1].split(",")
    lines[1] = ",".join([week, store, category, "-40", price])
    (broken / "historical_sales.csv").write_text("\n".join(lines) + "\n")
    refused(baton(tmp_path, *plan, "--data", str(broken)), "column 'units'", "got '-40'")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    refused(
        baton(tmp_path, *plan, "--data", str(season_data), "--out", str(a_file)), "is a file, not a folder"
    )
    refused(
        baton(tmp_path, *plan, "--data", str(season_data), "--out", str(a_file / "plan")),
        "cannot write to --out",
    )
    refused(baton(tmp_path, "season", "sample-data", str(a_file / "data")), "cannot write to the sample data")
    assert not (tmp_path / "baton.db").exists()


def test_a_season_scope_the_data_lacks_is_refused_before_a_run_is_stored(
    tmp_path: Path, season_data: Path
) -> None:
    output = refused(
        baton(tmp_path, "season", "plan", f"{REQUEST}, raincoats only", "--data", str(season_data)),
        "'raincoats' is not a category of the data (basics, outerwear, swimwear)",
    )
    assert "say a category of the data" in output
    assert not (tmp_path / "baton.db").exists()


def test_a_broken_config_is_refused_before_a_run_is_stored(tmp_path: Path, season_data: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[llm\n")
    env = {"BATON_CONFIG": str(broken)}
    refused(baton(tmp_path, "run", "baton.workflows.demo:workflow", "-q", env=env), "not valid TOML")
    refused(baton(tmp_path, "season", "plan", REQUEST, "--data", str(season_data), env=env), "not valid TOML")
    refused(
        baton(tmp_path, "run", "baton.workflows.demo:workflow", env={"BATON_CONFIG": str(tmp_path)}),
        "is a directory",
    )
    assert not (tmp_path / "baton.db").exists()
    # a message quoting a TOML table keeps it: `[llm.providers.x]` is no console markup
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[llm.providers.x]\nkind = "gemini"\n')
    refused(
        baton(tmp_path, "run", "baton.workflows.demo:workflow", env={"BATON_CONFIG": str(unknown)}),
        "[llm.providers.x] kind must be openai, azure or anthropic",
    )


def test_build_options_name_their_choices(tmp_path: Path) -> None:
    idea = "A REST API for a small library: books, authors and loans"
    output = refused(baton(tmp_path, "build", idea, "--stack", "django"), "--stack 'django' is not one of")
    assert "fastapi, flask, functions" in output and "--input" not in output
    refused(baton(tmp_path, "build", idea, "--env", "qa"), "--env 'qa' is not one of dev, staging, prod")
    assert not (tmp_path / "baton.db").exists()


@pytest.mark.slow
def test_events_json_is_one_object_per_line_and_every_event_and_stats_counts_every_run(
    tmp_path: Path,
) -> None:
    first = baton(
        tmp_path, "run", "baton.workflows.demo:workflow", "-i", "documents=400", "-i", "work_ms=0", "-q"
    )
    assert first.returncode == 0, first.stdout + first.stderr
    run_id = first.stdout.split("run ", 1)[1].split()[0]
    assert baton(tmp_path, "run", "baton.workflows.demo:workflow", "-i", "documents=2", "-q").returncode == 0
    events = baton(tmp_path, "events", run_id, "--json")
    assert events.returncode == 0, events.stderr
    parsed = [json.loads(line) for line in events.stdout.splitlines()]  # each line one whole object
    ids = [event["id"] for event in parsed]
    assert len(ids) > 1000 and ids == sorted(ids) and len(set(ids)) == len(ids)  # more than one page
    assert any(e["type"] == "run.state" and e["data"]["to"] == "succeeded" for e in parsed[-20:])
    stats = baton(tmp_path, "stats")
    assert stats.returncode == 0, stats.stderr
    succeeded = [line for line in stats.stdout.splitlines() if "succeeded" in line]
    # 400 items, the map step, discover, fetch_reference, report; and the second run's 2 + 4
    assert succeeded and succeeded[0].split("│")[2].strip() == str(404 + 6)


@pytest.mark.slow
def test_a_store_group_in_the_request_is_said_in_the_output_and_the_plan(
    tmp_path: Path, season_data: Path
) -> None:
    region = (season_data / "stores.csv").read_text().splitlines()[1].split(",")[2]
    request = f"{REQUEST}, only for the {region} stores, 30% off swimwear in week 9"
    result = baton(tmp_path, "season", "plan", request, "--data", str(season_data), "--out", "plan", "-q")
    output = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"'{region}' → a store region in stores.csv: not read — the plan covers every store" in output
    assert "'swimwear' → named in a price or markdown phrase" in output
    plan = (tmp_path / "plan" / "PLAN.md").read_text()
    assert f"- '{region}' → a store region in stores.csv: not read" in plan
    assert "| basics |" in plan and "| swimwear |" in plan  # every category planned


def test_rerunning_a_build_whose_folder_is_there_is_refused_with_a_hint_that_fits(tmp_path: Path) -> None:
    out = tmp_path / "library"
    idea = "idea=A REST API for a small library: books, authors and loans"
    stored = baton(
        tmp_path, "run", "baton.workflows.builder:workflow", "-i", idea, "-i", f"out={out}", "--detach"
    )
    assert stored.returncode == 0, stored.stdout + stored.stderr
    run_id = stored.stdout.split("run ", 1)[1].split()[0]
    out.mkdir()
    (out / "README.md").write_text("kept\n")
    before = baton(tmp_path, "runs").stdout.count("│ build")
    output = refused(
        baton(tmp_path, "rerun", run_id, "--replay"), "already exists", f"move or remove {out} first"
    )
    assert "--force" not in output
    assert baton(tmp_path, "runs").stdout.count("│ build") == before == 1


def test_serve_refuses_what_it_cannot_serve_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused(baton(tmp_path, "serve", "--port", port), f"cannot listen on 127.0.0.1:{port}")
    free = str(_free_port())
    refused(baton(tmp_path, "serve", "--port", free, "--host", "no-such-host.invalid"), "--host")
    refused(
        baton(tmp_path, "serve", "--port", free, "--log-level", "loud"), "--log-level 'loud' is not one of"
    )
    refused(
        baton(
            tmp_path, "serve", "--port", free, "--tls-certfile", "absent.pem", "--tls-keyfile", "absent.key"
        ),
        "--tls-certfile absent.pem: no such file",
    )
    (tmp_path / "junk.pem").write_text("junk\n")
    refused(
        baton(tmp_path, "serve", "--port", free, "--tls-certfile", "junk.pem", "--tls-keyfile", "junk.pem"),
        "cannot load the TLS certificate",
    )
    beyond = baton(tmp_path, "serve", "--port", "70000")
    assert beyond.returncode == 2 and "65535" in beyond.stdout + beyond.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume_and_resume_finishes_the_run(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "BATON_CONFIG"}
    environment |= {"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", "COLUMNS": "200"}
    args = ["run", "baton.workflows.demo:workflow", "-q", "-i", "documents=40", "-i", "work_ms=4000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "baton", *args],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        restore_signals=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's Ctrl-C
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # "run ID of … started": the run is stored and running
    run_id = first.split()[1]
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 130, first + rest + errors
    assert f"interrupted — `baton resume {run_id}` continues where it stopped" in rest
    assert "Traceback" not in rest + errors
    resumed = baton(tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0 and "succeeded" in resumed.stdout, resumed.stdout + resumed.stderr


def test_reading_commands_do_not_make_a_store_at_a_mistyped_path(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "baton.db"
    env = {"BATON_DATABASE_URL": f"sqlite:///{missing}"}
    for args in (("runs",), ("status",), ("events", "abc"), ("stats",), ("costs",), ("keys", "list")):
        result = baton(tmp_path, *args, env=env)
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 3 and f"no baton store at {missing}" in output, (args, output)
    assert not (tmp_path / "typo").exists()
    assert baton(tmp_path, "migrate", env=env).returncode == 0  # writing commands create it
    assert baton(tmp_path, "runs", env=env).returncode == 0


def test_a_store_path_that_cannot_be_created_is_refused_with_what_stands_in_the_way(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"BATON_DATABASE_URL": f"sqlite:///{blocker / 'baton.db'}"}
    for args in (("migrate",), ("run", "baton.workflows.demo:workflow", "-q")):
        result = baton(tmp_path, *args, env=env)
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 2, (args, output)
        assert (
            f"cannot create the store at {blocker / 'baton.db'}: {blocker} is a file, not a folder" in output
        )
        assert "Traceback" not in output and "unexpected" not in output
    assert blocker.read_text() == "not a folder"


@pytest.mark.slow
def test_a_notification_that_was_not_sent_is_said_in_the_build_summary(tmp_path: Path) -> None:
    from baton.workflows.builder import stop_service

    out = tmp_path / "notes"
    hook = f"http://127.0.0.1:{_free_port()}/hook"  # nothing listens there
    try:
        result = baton(
            tmp_path, "build", "A REST API for notes: notes and tags", "--out", str(out), "--notify", hook
        )
        output = " ".join(result.stdout.split())
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"notify │ NOT sent to {hook}" in output.replace("│ │", "│"), output
        # BUILD.md is written before notify runs: it says so, not that notify did not run
        build_md = (out / "BUILD.md").read_text()
        assert "| notify | runs after this file is written: see `baton status RUN` |" in build_md
    finally:
        stop_service(out)


def test_baton_run_of_a_workflow_with_an_input_check_runs_it_before_storing(
    tmp_path: Path, season_data: Path
) -> None:
    """`baton run MODULE:WORKFLOW` runs the workflow's @check as `baton season plan` and POST /runs do."""
    season = "baton.workflows.season:workflow"
    refused(
        baton(tmp_path, "run", season, "-i", "request=plan the summer", "-i", f"data={tmp_path / 'nope'}"),
        "the data folder",
        "is not there",
    )
    refused(
        baton(tmp_path, "run", season, "-i", "request=12 weeks, raincoats only", "-i", f"data={season_data}"),
        "'raincoats' is not a category of the data",
    )
    assert not (tmp_path / "baton.db").exists()  # nothing was stored, not even a store
