"""``run_checks`` for the crew: the project's gate (ruff, mypy, pytest with coverage), ruff's security
rules (``S``, bandit's) on the files the crew wrote, and the spec's acceptance checks when the build has
them — with the failures trimmed to what a model needs to fix them: the failing test, its assertion and
the last frames of its traceback, the linters' findings.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from baton.workflows.builder.gate import META_DIR, run_gate
from baton.workflows.builder.results import GateReport
from baton.workflows.builder.venvs import clean_env, ensure_venv

# Asserts and fixed test credentials are what tests are made of; everywhere else S is enforced.
SECURITY_TEST_IGNORES = ("S101", "S105", "S106", "S311")
FAILURE_CHARS = 4_000

AcceptanceRunner = Callable[[Path], list[str]]  # the repo → the failed acceptance checks, described


@dataclass
class ChecksOutcome:
    passed: bool
    summary: str  # one line
    failures: list[str] = field(default_factory=list)  # trimmed, for the model
    gate: GateReport | None = None
    security: list[str] = field(default_factory=list)

    def for_model(self, limit: int = FAILURE_CHARS) -> str:
        if self.passed:
            return f"all checks passed: {self.summary}"
        text = f"checks FAILED: {self.summary}\n\n" + "\n\n".join(self.failures)
        return text if len(text) <= limit else text[:limit] + "\n… [more failures not shown]"


def _last_lines(text: str, lines: int) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def test_failures(junit: Path, frames: int = 12) -> list[str]:
    """Each failing test of a junit report: its name, its message (the assertion), its last lines."""
    if not junit.exists():
        return []
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError:
        return []
    found = []
    for case in root.iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            message = (problem.get("message") or "").strip()
            found.append(f"FAILED {name}\n{message[:400]}\n{_last_lines(problem.text or '', frames)}")
    return found


def security_findings(repo: Path, files: Iterable[str]) -> list[str]:
    """Ruff's ``S`` rules on ``files`` (the project's ruff, in its venv); one line per finding."""
    targets = sorted(f for f in files if f.endswith(".py") and (repo / f).is_file())
    if not targets:
        return []
    venv = ensure_venv(repo / "requirements.txt", repo / "requirements-dev.txt")
    command = [
        str(venv.python),
        "-m",
        "ruff",
        "check",
        "--no-cache",
        "--select",
        "S",
        "--config",
        "lint.per-file-ignores = {'tests/**' = [" + ", ".join(f"'{c}'" for c in SECURITY_TEST_IGNORES) + "]}",
        "--output-format",
        "concise",
        *targets,
    ]
    done = subprocess.run(
        command, cwd=repo, capture_output=True, text=True, env=clean_env(), check=False, timeout=300
    )
    if done.returncode == 0:
        return []
    return [line for line in done.stdout.splitlines() if ": S" in line][:50] or [
        _last_lines(done.stdout + done.stderr, 10)
    ]


def run_checks(
    repo: Path, written: Iterable[str] = (), acceptance: AcceptanceRunner | None = None
) -> ChecksOutcome:
    """Everything the crew's work must pass; see the module doc."""
    gate = run_gate(repo)
    failures = test_failures(repo / META_DIR / "junit.xml")
    for check in gate.checks:
        if not check.passed and check.name != "pytest":
            failures.insert(0, f"{check.name} failed:\n{_last_lines(check.output, 20)}")
        elif not check.passed and not failures:
            failures.append(f"pytest failed:\n{_last_lines(check.output, 20)}")
    if gate.failure and gate.failure.startswith("coverage"):
        failures.append(f"{gate.failure}: add tests for the code you wrote")
    security = security_findings(repo, written)
    if security:
        failures.append("security (ruff S rules):\n" + "\n".join(security))
    accepted = acceptance(repo) if acceptance is not None and gate.passed else []
    failures += [f"acceptance check failed: {a}" for a in accepted]
    passed = gate.passed and not security and not accepted
    summary = (
        f"ruff, mypy, {gate.tests_passed} tests passed, coverage {gate.coverage:.1f}%"
        if passed
        else "; ".join(
            part
            for part in (
                gate.failure,
                f"{len(security)} security finding(s)" if security else "",
                f"{len(accepted)} acceptance check(s) failed" if accepted else "",
            )
            if part
        )
    )
    return ChecksOutcome(passed=passed, summary=summary, failures=failures, gate=gate, security=security)
