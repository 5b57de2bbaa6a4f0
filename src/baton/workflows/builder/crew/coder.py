"""The coder and the debugger: a model edits the rendered repository through tools until the project's
checks pass, for the requirements the spec's templates could not express.

Rounds: the first ends when the coder calls ``finish``; the checks then run, and while they fail the
trimmed failures go back to the same conversation (a debugger round), up to ``settings.rounds``. Each
round is a commit. Still red after the last round: the red attempt is kept on a branch, the repository
is reset to the last green commit, and the requirements the coder claimed become ``failed`` with the
reason. A limit (turns, tokens, the run's dollar budget) or a provider outage ends the work the same
way, the requirements left becoming ``not implemented`` with the reason — the build goes on from green.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.agents import AgentContext
from baton.agents.tools import LoopEnd, LoopLimits, LoopOutcome, Tool, ToolRefused, run_tool_loop
from baton.llm import Complexity, Message, ModelRequest, Role, ToolSpec
from baton.workflows.builder import _git
from baton.workflows.builder._checks import CheckFailed
from baton.workflows.builder.crew.checks import AcceptanceRunner, ChecksOutcome, run_checks
from baton.workflows.builder.crew.models import (
    CrewReport,
    CrewRequirement,
    CrewRound,
    CrewSettings,
    Outcome,
    RequirementOutcome,
)
from baton.workflows.builder.crew.sandbox import Sandbox
from baton.workflows.builder.crew.service import METHODS, WorkingTreeService
from baton.workflows.builder.spec import AcceptanceCheck, BuildSpec

AGENT = "coder"
MAX_CHECKS = 10
_STR = {"type": "string"}


def _spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return ToolSpec(name, description, schema)


TOOL_SPECS = {
    "list_files": _spec(
        "list_files",
        "List the files under a folder of the repository ('.' for all).",
        {"path": _STR},
        ["path"],
    ),
    "read_file": _spec("read_file", "Read a text file of the repository.", {"path": _STR}, ["path"]),
    "write_file": _spec(
        "write_file",
        "Create or overwrite a file with the whole content given.",
        {"path": _STR, "content": _STR},
        ["path", "content"],
    ),
    "replace_in_file": _spec(
        "replace_in_file",
        "Replace the one exact occurrence of `old` in a file by `new` (an error if it occurs 0 or 2+ times).",
        {"path": _STR, "old": _STR, "new": _STR},
        ["path", "old", "new"],
    ),
    "run_checks": _spec(
        "run_checks",
        "Run ruff, ruff format --check, mypy, pytest with coverage (>= 80%), the security rules and the "
        "acceptance checks; returns the failures, trimmed.",
        {},
        [],
    ),
    "call_service": _spec(
        "call_service",
        "Send an HTTP request to the service started from the working tree (API key added for you).",
        {
            "method": {"type": "string", "enum": list(METHODS)},
            "path": _STR,
            "body": {"type": ["object", "array", "null"]},
        },
        ["method", "path"],
    ),
    "finish": _spec(
        "finish",
        "Say you are done: a summary, and for every requirement its id, status and a note.",
        {
            "summary": _STR,
            "requirements": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": _STR,
                        "status": {"type": "string", "enum": [Outcome.IMPLEMENTED, Outcome.NOT_IMPLEMENTED]},
                        "note": _STR,
                        "checks": {
                            "type": "array",
                            "description": "acceptance checks: HTTP requests against the running service",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": _STR,
                                    "method": {"type": "string", "enum": list(METHODS)},
                                    "path": _STR,
                                    "body": {"type": ["object", "array", "null"]},
                                    "expect_status": {"type": "integer"},
                                    "expect_fields": {"type": "object"},
                                    "expect_count": {"type": "integer"},
                                },
                                "required": ["method", "path", "expect_status"],
                            },
                        },
                    },
                    "required": ["id", "status"],
                    "additionalProperties": False,
                },
            },
        },
        ["summary", "requirements"],
    ),
}

SYSTEM = """You are the coder of a generated {stack} service ("{title}"). The repository was rendered \
from its spec: read it before you change it (list_files, read_file). Implement the requirements you \
are given that the rendered code does not cover, by editing files with the tools, and write tests for \
what you add in tests/. The checks must pass: ruff, ruff format, mypy --strict, pytest with coverage \
of at least 80%, ruff's security rules (S) on your files, and the acceptance checks. Call run_checks \
before finish. There is no shell; paths are relative to the repository root; spec.yaml, BUILD.md and \
.baton-build/ belong to baton. When done, call finish(summary, requirements) with one entry per \
requirement id: status "implemented" or "not implemented", and a note saying how or why not."""


def _prompt(requirements: list[CrewRequirement]) -> str:
    lines = []
    for r in requirements:
        lines.append(f"- {r.id}: {r.text}")
        if r.checks:
            lines.append(
                "  its acceptance checks (run against the service; they decide whether it is honoured; "
                "`params` is the query string, the API key is sent for you):"
            )
            lines += [f"  {json.dumps(check, sort_keys=True)}" for check in r.checks]
    listed = "\n".join(lines)
    return f"Requirements to implement:\n{listed}\n\nStart by listing the files."


_TIMINGS = re.compile(r"\b(in|took) \d+(\.\d+)?\s?(s|ms|seconds)\b")


def _stable(text: str) -> str:
    """Tool output without run-to-run noise (timings), so a replayed conversation reads the same."""
    return _TIMINGS.sub(r"\1 <time>", text)


class CoderSession:
    """One coder's work on one repository: its tools, its rounds, its report."""

    def __init__(
        self,
        agents: AgentContext,
        spec: BuildSpec,
        repo: Path,
        requirements: list[CrewRequirement],
        settings: CrewSettings,
        acceptance: AcceptanceRunner | None = None,
        progress: Callable[[str], None] | None = None,
        commit_date: int | None = None,
    ) -> None:
        self.agents = agents.for_agent(AGENT)
        self.spec = spec
        self.repo = repo
        self.requirements = requirements
        self.settings = settings
        self.acceptance = acceptance or self._acceptance
        self.progress = progress or (lambda _: None)
        self.commit_date = commit_date  # the build's clock: a replay makes the same commits
        self.sandbox = Sandbox(repo)
        self.service = WorkingTreeService(spec, repo, repo / ".baton-build" / "crew-service")
        self.claims: dict[str, dict[str, Any]] = {}
        self.summary = ""
        self.last_checks: ChecksOutcome | None = None
        self.conversation: tuple[Message, ...] = ()

    # -- tools -----------------------------------------------------------------------------------

    def tools(self) -> list[Tool]:
        box = self.sandbox
        handlers: dict[str, Callable[..., Any]] = {
            "list_files": box.list_files,
            "read_file": box.read_file,
            "write_file": box.write_file,
            "replace_in_file": box.replace_in_file,
            "run_checks": self._run_checks,
            "call_service": self._call_service,
            "finish": self._finish,
        }
        return [Tool(TOOL_SPECS[name], handler) for name, handler in handlers.items()]

    async def _run_checks(self) -> str:
        self.progress("running the checks")
        outcome = await asyncio.to_thread(run_checks, self.repo, self.acceptance)
        self.last_checks = outcome
        return _stable(outcome.for_model())

    async def _call_service(self, method: str, path: str, body: Any = None) -> str:
        return _stable(await asyncio.to_thread(self.service.call, method, path, body))

    def _finish(self, summary: str, requirements: list[dict[str, Any]]) -> str:
        known = {r.id for r in self.requirements}
        unknown = [str(r["id"]) for r in requirements if r["id"] not in known]
        if unknown:
            raise ToolRefused(f"unknown requirement ids {unknown}; the ids are {sorted(known)}")
        missing = sorted(known - {r["id"] for r in requirements})
        if missing:
            raise ToolRefused(f"say something about every requirement: {missing} are missing")
        for claim in requirements:
            checks = claim.get("checks") or []
            if len(checks) > MAX_CHECKS:
                raise ToolRefused(f"{claim['id']}: at most {MAX_CHECKS} acceptance checks")
            for check in checks:
                try:
                    AcceptanceCheck.model_validate(check)
                except ValueError as error:
                    raise ToolRefused(f"{claim['id']}: an acceptance check is not valid: {error}") from None
                if not str(check["path"]).startswith("/") or "://" in str(check["path"]):
                    raise ToolRefused(f"{claim['id']}: a check's path must start with '/' (no host)")
        self.summary = summary[:2000]
        self.claims = {r["id"]: r for r in requirements}
        return "recorded; the checks run now"

    def checks_of(self, requirement: CrewRequirement) -> list[dict[str, Any]]:
        """The spec's stated checks of a requirement the coder claims, then the coder's own."""
        claim = self.claims.get(requirement.id, {})
        if claim.get("status") != Outcome.IMPLEMENTED:
            return []
        return [*requirement.checks, *(claim.get("checks") or [])]

    def claimed_checks(self) -> list[tuple[str, list[dict[str, Any]]]]:
        chosen = [(r.id, self.checks_of(r)) for r in sorted(self.requirements, key=lambda r: r.id)]
        return [(rid, checks) for rid, checks in chosen if checks]

    def _acceptance(self, repo: Path) -> list[str]:
        """The claimed requirements' checks against the service started from the working tree."""
        failed = []
        for rid, checks in self.claimed_checks():
            try:
                self.service.run_checks(checks)
            except (CheckFailed, ToolRefused) as error:
                failed.append(f"{rid}: {str(error)[:500]}")
        return failed

    # -- rounds ----------------------------------------------------------------------------------

    def _commit(self, number: int, checks: ChecksOutcome) -> CrewRound:
        verdict = "green" if checks.passed else "red"
        message = f"Crew round {number} ({verdict}): {self.summary or 'no summary'}"[:300]
        # Every round is a commit, even one that changed nothing: the log tells the story.
        _git.git(self.repo, "add", "--all")
        _git.git(
            self.repo,
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            message + f"\n\nchecks: {checks.summary}",
            date=self.commit_date,
        )
        commit = _git.head(self.repo) or ""
        return CrewRound(round=number, commit=commit, passed=checks.passed, summary=checks.summary)

    def _on_tool(self, event: dict[str, Any]) -> None:
        """Each tool call shows in the live view (the task's progress line)."""
        self.progress(f"{event['tool']} {event['arguments'][:40]}")

    def _limits(self, report: CrewReport) -> LoopLimits:
        return LoopLimits(
            max_turns=max(self.settings.max_turns - report.turns, 0),
            max_tokens=max(self.settings.max_tokens - report.tokens_in - report.tokens_out, 0),
        )

    @staticmethod
    def _add(report: CrewReport, outcome: LoopOutcome) -> None:
        report.turns += outcome.turns
        report.tool_calls += outcome.tool_calls
        report.tokens_in += outcome.tokens_in
        report.tokens_out += outcome.tokens_out
        report.cost_usd += outcome.cost_usd
        for model in outcome.models:
            if model not in report.models:
                report.models.append(model)

    async def run(self, agents: AgentContext | None = None) -> CrewReport:
        """The rounds; ``agents`` (the context of the coder's agent call) makes the calls its own."""
        if agents is not None:
            self.agents = agents
        green = _git.head(self.repo) or ""
        report = CrewReport(ran=True, start_commit=green)
        request = ModelRequest.of(
            _prompt(self.requirements),
            system=SYSTEM.format(stack=self.spec.stack.value, title=self.spec.title),
            complexity=Complexity.COMPLEX,
            max_tokens=4096,
        )
        try:
            await self._rounds(report, request)
        finally:
            await asyncio.to_thread(self.service.stop)
        report.files_written = sorted(self.sandbox.written)
        report.summary = self.summary
        report.final_commit = _git.head(self.repo) or ""
        return report

    async def revise(self, report: CrewReport, findings: list[str]) -> None:
        """One more round on the reviewer's findings (the reviewer sends the work back once)."""
        if not self.conversation:
            return
        text = "The reviewer sent your work back:\n" + "\n".join(f"- {f}" for f in findings)
        request = ModelRequest(
            messages=(
                *self.conversation,
                Message(Role.USER, text + "\n\nFix them, run_checks, then finish."),
            ),
            max_tokens=4096,
            complexity=Complexity.COMPLEX,
        )
        try:
            await self._rounds(report, request, first=len(report.rounds) + 1, green=report.final_commit)
        finally:
            await asyncio.to_thread(self.service.stop)
        report.files_written = sorted(set(report.files_written) | self.sandbox.written)
        report.final_commit = _git.head(self.repo) or ""

    async def _rounds(
        self, report: CrewReport, request: ModelRequest, *, first: int = 1, green: str | None = None
    ) -> None:
        green = green or report.start_commit
        for number in range(first, first + self.settings.rounds):
            self.progress(f"coder round {number}")
            outcome = await run_tool_loop(
                self.agents,
                request,
                self.tools(),
                limits=self._limits(report),
                on_tool=self._on_tool,
            )
            self._add(report, outcome)
            self.conversation = outcome.messages
            report.stopped = outcome.stopped
            if not outcome.finished:
                self._give_up(report, green, self._limit_reason(outcome), claimed_fail=False)
                return
            checks = await asyncio.to_thread(run_checks, self.repo, self.acceptance)
            report.security = checks.security
            round_ = self._commit(number, checks)
            report.rounds.append(round_)
            if checks.passed:
                report.requirements = self._outcomes(failed_reason=None)
                return
            failures = _stable(checks.for_model())
            request = ModelRequest(
                messages=(
                    *outcome.messages,
                    Message(
                        Role.USER,
                        f"Round {number} ended red. {failures}\n\nFix these, run_checks, then finish again.",
                    ),
                ),
                max_tokens=request.max_tokens,
                complexity=request.complexity,
            )
        reason = f"still red after {self.settings.rounds} round(s): {report.rounds[-1].summary}"
        self._give_up(report, green, reason, claimed_fail=True)

    @staticmethod
    def _limit_reason(outcome: LoopOutcome) -> str:
        return {
            LoopEnd.BUDGET: "not implemented (budget): the run's model budget ran out",
            LoopEnd.TURNS: "not implemented (budget): the coder's turn limit was reached",
            LoopEnd.TOKENS: "not implemented (budget): the coder's token limit was reached",
            LoopEnd.MODEL_FAILED: f"not implemented: the model was unavailable ({(outcome.error or '')[:200]})",
            LoopEnd.NO_TOOL_CALL: "not implemented: the model stopped without calling finish",
        }.get(outcome.stopped, f"not implemented: {outcome.stopped}")

    def _give_up(self, report: CrewReport, green: str, reason: str, *, claimed_fail: bool) -> None:
        """Back to the last green commit; what was claimed fails (red) or is not implemented (a limit)."""
        dirty = _git.git(self.repo, "status", "--porcelain")
        if dirty or (_git.head(self.repo) or "") != green:
            _git.commit_all(self.repo, f"Crew attempt, abandoned: {reason}"[:300], date=self.commit_date)
            branch = f"crew/attempt-{len(report.rounds) or 1}"
            _git.git(self.repo, "branch", "-f", branch, "HEAD")
            _git.git(self.repo, "reset", "--quiet", "--hard", green)
            report.kept_attempt = branch
            report.reset_to_green = True
        self.sandbox.written.clear()
        if claimed_fail:
            report.requirements = self._outcomes(failed_reason=reason)
        else:
            report.requirements = [
                RequirementOutcome(id=r.id, text=r.text, status=Outcome.NOT_IMPLEMENTED, note=reason)
                for r in self.requirements
            ]
        report.reason = reason

    def _outcomes(self, failed_reason: str | None) -> list[RequirementOutcome]:
        outcomes = []
        for requirement in self.requirements:
            claim = self.claims.get(requirement.id, {})
            note = str(claim.get("note", ""))[:500]
            status = Outcome.IMPLEMENTED
            if claim.get("status") != Outcome.IMPLEMENTED:
                status, note = Outcome.NOT_IMPLEMENTED, note or "the coder did not implement it"
            elif failed_reason is not None:
                status, note = Outcome.FAILED, f"{failed_reason}; reset to the last green commit"
            checks = self.checks_of(requirement) if status is Outcome.IMPLEMENTED else []
            outcomes.append(
                RequirementOutcome(
                    id=requirement.id, text=requirement.text, status=status, note=note, checks=checks
                )
            )
        return outcomes
