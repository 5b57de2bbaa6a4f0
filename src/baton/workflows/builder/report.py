"""BUILD.md: what the build did, stage by stage — also, and above all, when it failed.

Stages record their outcome in ``.baton-build/stages.json`` as they end, so a failure at any stage
can still be reported with what came before it. A failed build's BUILD.md starts with the failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton.workflows.builder._render import render
from baton.workflows.builder.results import (
    Artifact,
    DeployResult,
    GateReport,
    InfrastructureReport,
    Stage,
    requirement_counts,
)
from baton.workflows.builder.spec import Requirement

STATUS_WORDS = {
    "honoured": "honoured",
    "not_implemented": "not implemented",
    "failed": "**FAILED**",
    "pending": "not checked",
}
LEDGER = Path(".baton-build") / "stages.json"
PRODUCERS = {
    Stage.ARCHITECTURE: "rules",
    Stage.REPOSITORY: "template",
    Stage.CODE: "template",
    Stage.GATE: "rules",
    Stage.INFRASTRUCTURE: "template, rules",
    Stage.DEPLOY: "rules",
    Stage.DOCS: "template, rules",
    Stage.NOTIFY: "rules",
}


def _read(repo: Path) -> dict[str, Any]:
    path = repo / LEDGER
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def record(repo: Path, stage: Stage, status: str, duration: float | None, **extra: Any) -> None:
    """Upsert one stage's outcome in the ledger (a retried stage overwrites its entry)."""
    if not repo.is_dir():
        return
    ledger = _read(repo)
    ledger[stage.value] = {"status": status, "duration": duration, **extra}
    (repo / LEDGER).parent.mkdir(exist_ok=True)
    (repo / LEDGER).write_text(json.dumps(ledger, indent=2), encoding="utf-8")


def stage_rows(
    repo: Path, durations: dict[Stage, float] | None = None, *, later: dict[Stage, str] | None = None
) -> list[dict[str, Any]]:
    """One row per stage: its outcome from the ledger, ``later``'s words for a stage that runs after
    BUILD.md is written (notify), else `not run` (`not asked` for notify, which only runs when asked)."""
    ledger = _read(repo)
    rows = []
    for stage in Stage:
        entry = ledger.get(stage.value, {})
        duration = (durations or {}).get(stage, entry.get("duration"))
        unrun = "not asked (no --notify)" if stage is Stage.NOTIFY and durations else "not run"
        status = (
            (later or {}).get(stage)
            or entry.get("status")
            or ("succeeded" if durations and stage in durations else unrun)
        )
        rows.append(
            {
                "name": stage.value,
                "status": status,
                "duration": duration,
                "produced_by": entry.get("produced_by") or PRODUCERS[stage],
            }
        )
    return rows


def render_build_md(
    *,
    title: str,
    source: str,
    stages: list[dict[str, Any]],
    assumptions: list[str],
    gate: GateReport | None = None,
    infra: InfrastructureReport | None = None,
    deploy: DeployResult | None = None,
    artifacts: list[Artifact] | None = None,
    failed_stage: str | None = None,
    failure: str | None = None,
    requirements: list[Requirement] | None = None,
) -> str:
    requirements = requirements or []
    return render(
        "docs/BUILD.md.jinja",
        {
            "title": title,
            "source": source,
            "stages": stages,
            "assumptions": assumptions,
            "gate": gate,
            "infra": infra,
            "deploy": deploy,
            "artifacts": artifacts or [],
            "failed": failed_stage is not None,
            "failed_stage": failed_stage,
            "failure": failure,
            "requirements": requirements,
            "counts": requirement_counts(requirements),
            "status_words": STATUS_WORDS,
        },
    )


def write_failure_report(
    repo: Path, stage: Stage, error: BaseException, *, title: str, source: str, assumptions: list[str]
) -> Path | None:
    """Record the failure and write a BUILD.md that says the build failed, and where. None if no repo yet."""
    if not repo.is_dir():
        return None
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    record(repo, stage, "FAILED", None, error=message)
    gate_file = repo / ".baton-build" / "gate.json"
    gate = (
        GateReport.model_validate_json(gate_file.read_text())
        if stage is Stage.GATE and gate_file.exists()
        else None
    )
    text = render_build_md(
        title=title,
        source=source,
        stages=stage_rows(repo),
        assumptions=assumptions,
        gate=gate,
        failed_stage=stage.value,
        failure=str(error),
    )
    path = repo / "BUILD.md"
    path.write_text(text, encoding="utf-8")
    return path
