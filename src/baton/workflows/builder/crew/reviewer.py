"""The reviewer: a model reads the diff the coder wrote (it did not write it) against the requirements and
the OWASP basics — injection, authentication on every route, secrets in code, path traversal — and may
send the work back once. Its findings go to BUILD.md. Ruff's ``S`` rules run in the coder's checks.

The answer is structured (a JSON schema); an answer that does not fit is recorded as such, never trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton.agents import AgentContext
from baton.llm import AllModelsFailedError, BudgetExceededError, Complexity, ModelRequest
from baton.workflows.builder import _git
from baton.workflows.builder.crew.models import CrewReport
from baton.workflows.builder.spec import BuildSpec

MAX_DIFF_CHARS = 30_000
MAX_FINDINGS = 20

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["approve", "send_back"]},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string", "enum": ["high", "medium", "low"]},
                    "file": {"type": "string"},
                    "issue": {"type": "string"},
                },
                "required": ["severity", "issue"],
            },
        },
    },
    "required": ["verdict", "findings"],
}

SYSTEM = """You review a change to a web service before it is deployed. You did not write it. Check it \
against the requirements and the OWASP basics: injection (SQL, command), authentication on every route \
(the service's API key), secrets in code, path traversal, unvalidated input. Answer in JSON: verdict \
"approve" or "send_back" (only for a real defect), and findings (severity, file, issue)."""


def _findings(answer: Any) -> tuple[str, list[str]] | None:
    if not isinstance(answer, dict) or answer.get("verdict") not in ("approve", "send_back"):
        return None
    raw = answer.get("findings")
    if not isinstance(raw, list):
        return None
    found = []
    for item in raw[:MAX_FINDINGS]:
        if isinstance(item, dict) and isinstance(item.get("issue"), str):
            severity = str(item.get("severity", "low"))[:10]
            where = f" ({str(item['file'])[:120]})" if item.get("file") else ""
            found.append(f"[{severity}]{where} {item['issue'][:400]}")
    return str(answer["verdict"]), found


async def review(
    agents: AgentContext, spec: BuildSpec, repo: Path, report: CrewReport
) -> tuple[str, list[str]]:
    """Review the crew's diff; the verdict and findings (also put in ``report.review``)."""
    diff = _git.git(repo, "diff", f"{report.start_commit}..HEAD", "--", ".", ":!.baton-build")
    if not diff.strip():
        return "approve", []
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + "\n… [diff cut]"
    requirements = "\n".join(f"- {r.id} ({r.status}): {r.text}" for r in report.requirements)
    request = ModelRequest.of(
        f"Requirements:\n{requirements}\n\nThe diff:\n{diff}",
        system=SYSTEM,
        response_schema=SCHEMA,
        schema_name="review",
        complexity=Complexity.MODERATE,
        max_tokens=2048,
    )
    ctx = agents
    try:
        answer = await ctx.complete(request)
        parsed = _findings(answer.json())
    except (BudgetExceededError, AllModelsFailedError) as error:
        report.review.append(f"not reviewed by a model: {error.message[:200]}")
        return "approve", []
    except ValueError:
        parsed = None
    if parsed is None:
        report.review.append("the reviewer's answer did not fit its schema; no model review recorded")
        return "approve", []
    verdict, findings = parsed
    report.review += findings
    report.cost_usd += answer.cost_usd
    report.turns += 1
    return verdict, findings
