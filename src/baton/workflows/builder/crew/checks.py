"""``run_checks`` for the crew: the project's gate (ruff with its security rules ``S``, mypy, pytest with
coverage) and the acceptance checks of the requirements the coder claimed — with the failures trimmed
to what a model needs to fix them: the failing test, its assertion and the last frames of its
traceback, the linters' findings.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from baton.workflows.builder.gate import META_DIR, run_gate
from baton.workflows.builder.results import GateReport

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


def run_checks(repo: Path, acceptance: AcceptanceRunner | None = None) -> ChecksOutcome:
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
    # The gate runs ruff's S rules on every file; their findings are also kept for BUILD.md.
    security = [
        line
        for check in gate.checks
        if check.name.startswith("ruff security") and not check.passed
        for line in check.output.splitlines()
        if ": S" in line
    ][:50]
    accepted = acceptance(repo) if acceptance is not None and gate.passed else []
    failures += [f"acceptance check failed: {a}" for a in accepted]
    passed = gate.passed and not accepted
    summary = (
        # No measured coverage here: the summary goes into commit messages and BUILD.md, which a replay
        # must rebuild byte for byte, and code with timing-dependent paths covers more or less per run.
        f"ruff, mypy, {gate.tests_passed} tests passed, coverage at least {gate.coverage_threshold:.0f}%"
        if passed
        else "; ".join(
            part
            for part in (
                f"coverage under {gate.coverage_threshold:.0f}%"
                if gate.failure and gate.failure.startswith("coverage")
                else gate.failure,
                f"{len(accepted)} acceptance check(s) failed" if accepted else "",
            )
            if part
        )
    )
    return ChecksOutcome(passed=passed, summary=summary, failures=failures, gate=gate, security=security)
