"""The crew as agents of ``baton.agents``: each member is called through :func:`baton.agents.call`, so each
call is an ``agent.call`` event with its duration, status and ``produced_by`` (``model:<name>``, or
``rules`` when the architect falls back), besides the gateway's ``model.call`` events with tokens and cost.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from baton.agents import Agent, AgentContext, Skill
from baton.workflows.builder.architecture import BuildInputs
from baton.workflows.builder.crew.architect import design_with_model
from baton.workflows.builder.crew.coder import CoderSession
from baton.workflows.builder.crew.models import CrewReport, CrewRequirement, CrewSettings
from baton.workflows.builder.crew.reviewer import review
from baton.workflows.builder.spec import BuildSpec


class ArchitectInput(BaseModel):
    inputs: BuildInputs
    rules: BuildSpec | None = Field(
        default=None, description="the rules extractor's spec: the fallback (none when the rules refused)"
    )


class ArchitectOutput(BaseModel):
    spec: BuildSpec | None  # the model's, else the rules' (None when neither made one)
    refused: str | None = None  # why the model's spec was not used


async def _architect(task: ArchitectInput, ctx: AgentContext) -> ArchitectOutput:
    spec, produced_by, refused = await design_with_model(ctx, task.inputs, task.rules)
    ctx.produced(produced_by)
    return ArchitectOutput(spec=spec, refused=refused)


class CoderInput(BaseModel):
    repo: str
    spec: BuildSpec
    requirements: list[CrewRequirement]
    settings: CrewSettings = Field(default_factory=CrewSettings)


class CoderOutput(BaseModel):
    report: CrewReport


class ReviewInput(BaseModel):
    repo: str
    spec: BuildSpec
    report: CrewReport


class ReviewOutput(BaseModel):
    verdict: str
    findings: list[str]
    report: CrewReport


async def _review(task: ReviewInput, ctx: AgentContext) -> ReviewOutput:
    report = task.report.model_copy(deep=True)
    verdict, findings = await review(ctx, task.spec, Path(task.repo), report)
    return ReviewOutput(verdict=verdict, findings=findings, report=report)


ARCHITECT: Agent[ArchitectInput, ArchitectOutput] = Agent(
    name="build.architect",
    fn=_architect,
    input_model=ArchitectInput,
    output_model=ArchitectOutput,
    description="the idea → the build spec, by structured output (the rules' spec when refused twice)",
    timeout=600,
    skills=(Skill.RULES,),
)

REVIEWER: Agent[ReviewInput, ReviewOutput] = Agent(
    name="build.reviewer",
    fn=_review,
    input_model=ReviewInput,
    output_model=ReviewOutput,
    description="reviews the crew's diff against the requirements and the OWASP basics",
    timeout=600,
)


def coder_agent(session: CoderSession) -> Agent[CoderInput, CoderOutput]:
    """The coder and debugger over one session (it keeps the conversation for the reviewer's send-back)."""

    async def _code(task: CoderInput, ctx: AgentContext) -> CoderOutput:
        return CoderOutput(report=await session.run(ctx))

    return Agent(
        name="build.coder",
        fn=_code,
        input_model=CoderInput,
        output_model=CoderOutput,
        description="edits the repository through tools until the checks pass (debugger rounds included)",
        timeout=3 * 3600,
    )
