"""The test gate: the generated project's own ruff, mypy and pytest --cov, in its cached venv.

The gate passes only when every tool exits 0 and coverage reaches the threshold. Its report is the
stage's checkpoint and is also written to ``.baton-build/gate.json`` in the repository; a failing
gate raises :class:`GateFailedError` (permanent: running the same code again gives the same result).
"""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from baton.core.errors import PermanentError
from baton.workflows.builder.results import CheckResult, GateReport
from baton.workflows.builder.venvs import Venv, cache_root, clean_env, ensure_venv

COVERAGE_THRESHOLD = 80.0
CHECK_TIMEOUT_S = 600
META_DIR = ".baton-build"
SECURITY_RULES = (
    "--select",
    "S",
    "--config",
    "lint.per-file-ignores = {'tests/**' = ['S101', 'S105', 'S106', 'S311']}",
)


class GateFailedError(PermanentError):
    """The generated project failed its own checks; ``report`` says which and why."""

    code = "gate_failed"

    def __init__(self, report: GateReport) -> None:
        super().__init__(
            f"the test gate failed: {report.failure}",
            hint="see the tool output in BUILD.md and .baton-build/gate.json; fix the spec or the templates",
            details={"report": report.model_dump(mode="json")},
        )
        self.report = report


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(name: str, command: list[str], cwd: Path, env: dict[str, str]) -> CheckResult:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=CHECK_TIMEOUT_S
        )
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        code, output = -1, f"timed out after {CHECK_TIMEOUT_S} s"
    return CheckResult(
        name=name,
        command=[Path(command[0]).name, *command[1:]],
        passed=code == 0,
        exit_code=code,
        duration_s=round(time.perf_counter() - started, 3),
        output=_tail(output),
    )


def _test_counts(junit: Path) -> tuple[int, int, int | None]:
    """(passed, failed or errored, run in all) — run is None when there is no readable report."""
    if not junit.exists():
        return 0, 0, None
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError:
        return 0, 0, None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, total - skipped


def _coverage(report: Path) -> float:
    if not report.exists():
        return 0.0
    totals = json.loads(report.read_text(encoding="utf-8")).get("totals", {})
    return round(float(totals.get("percent_covered", 0.0)), 2)


def _failure(checks: list[CheckResult], coverage: float, threshold: float, ran: int | None) -> str | None:
    failed = [c.name for c in checks if not c.passed]
    if failed:
        return f"{', '.join(failed)} failed"
    if ran is None:
        return "pytest wrote no test report, so no test is known to have run"
    if ran == 0:
        return "pytest ran no test"
    if coverage < threshold:
        return f"coverage {coverage:.1f}% is under {threshold:.0f}%"
    return None


def run_gate(repo: Path, *, threshold: float = COVERAGE_THRESHOLD) -> GateReport:
    """Run the checks in ``repo``; returns the report (check ``passed``), writes it to .baton-build/."""
    started = time.perf_counter()
    venv = ensure_venv(repo / "requirements.txt", repo / "requirements-dev.txt")
    meta = repo / META_DIR
    meta.mkdir(exist_ok=True)
    for stale in ("junit.xml", "coverage.json"):
        (meta / stale).unlink(missing_ok=True)
    env = clean_env(COVERAGE_FILE=str(meta / ".coverage"), PYTHONDONTWRITEBYTECODE="1")
    py = str(venv.python)
    mypy_cache = cache_root() / "mypy" / venv.requirements_hash
    ruff = [
        _run("ruff check", [py, "-m", "ruff", "check", "--no-cache", "."], repo, env),
        _run("ruff format", [py, "-m", "ruff", "format", "--check", "--no-cache", "."], repo, env),
        # Bandit's rules (ruff S) on everything, model-written code included; tests may assert.
        _run("ruff security (S)", [py, "-m", "ruff", "check", "--no-cache", *SECURITY_RULES, "."], repo, env),
    ]
    pytest_command = [
        py,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--cov",
        "--cov-report",
        f"json:{meta / 'coverage.json'}",
        f"--junitxml={meta / 'junit.xml'}",
        f"--cov-fail-under={threshold}",
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        mypy = pool.submit(_run, "mypy", [py, "-m", "mypy", "--cache-dir", str(mypy_cache)], repo, env)
        pytest = pool.submit(_run, "pytest", pytest_command, repo, env)
        checks = [*ruff, mypy.result(), pytest.result()]
    passed, failed, ran = _test_counts(meta / "junit.xml")
    coverage = _coverage(meta / "coverage.json")
    failure = _failure(checks, coverage, threshold, ran)
    report = GateReport(
        passed=failure is None,
        checks=checks,
        tests_passed=passed,
        tests_failed=failed,
        coverage=coverage,
        coverage_threshold=threshold,
        venv=str(venv.path),
        venv_reused=venv.reused,
        failure=failure,
        duration_s=round(time.perf_counter() - started, 3),
    )
    (meta / "gate.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return report


def require_venv(repo: Path) -> Venv:
    """The project's venv (created if needed), for stages that run the project's own tools."""
    return ensure_venv(repo / "requirements.txt", repo / "requirements-dev.txt")
