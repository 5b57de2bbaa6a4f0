"""What can be run: the offered workflows with their input schemas, the agents, the season extractor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from baton.agents import default_registry
from baton.core.workflow import Workflow
from baton.server.auth import Principal, viewer
from baton.server.catalog import load_offered
from baton.server.models import AgentOut, ExtractRequest, Page, StepOut, WorkflowOut, page_of
from baton.server.routes.runs import Limit, Offset, State
from baton.server.state import ServerState

router = APIRouter(tags=["catalog"])


def workflow_out(state: ServerState, name: str, workflow: Workflow) -> WorkflowOut:
    path, _ = workflow.critical_path()
    critical = set(path)
    steps = workflow.steps
    declared = workflow.report_declaration
    return WorkflowOut(
        name=name,
        ref=state.settings.workflows[name],
        description=workflow.description,
        input_schema=workflow.inputs_model.model_json_schema() if workflow.inputs_model else None,
        steps=[
            StepOut(
                name=step_name,
                dependencies=list(steps[step_name].dependencies),
                description=steps[step_name].description,
                mapped_over=steps[step_name].map_over,
                approval=None if callable(steps[step_name].approval) else bool(steps[step_name].approval),
                critical=step_name in critical,
            )
            for step_name in workflow.order()
        ],
        report_from=list(declared.steps) if declared else None,
    )


def _load_all(state: ServerState) -> list[WorkflowOut]:
    return [workflow_out(state, name, load_offered(state, name)) for name in sorted(state.settings.workflows)]


@router.get("/workflows", response_model=Page[WorkflowOut], summary="The workflows this server offers")
def list_workflows_route(
    state: State, _: Annotated[Principal, Depends(viewer)], limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    return page_of(_load_all(state)[offset : offset + limit + 1], limit, offset)


@router.get(
    "/workflows/{name}", response_model=WorkflowOut, summary="One workflow: its steps and input schema"
)
def get_workflow_route(
    name: Annotated[str, Path(min_length=1, max_length=200)],
    state: State,
    _: Annotated[Principal, Depends(viewer)],
) -> WorkflowOut:
    return workflow_out(state, name, load_offered(state, name))


@router.get("/agents", response_model=Page[AgentOut], summary="The registered agents with their schemas")
def list_agents_route(
    state: State, _: Annotated[Principal, Depends(viewer)], limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    _load_all(state)  # importing the workflows registers their agents
    found = [AgentOut(**a) for a in default_registry.describe()]
    return page_of(found[offset : offset + limit + 1], limit, offset)


@router.post(
    "/workflows/season/extract",
    response_model=dict[str, Any],
    summary="Read a season's parameters from plain words (deterministic rules, no model)",
)
def extract_season_route(body: ExtractRequest, _: Annotated[Principal, Depends(viewer)]) -> dict[str, Any]:
    from baton.workflows.season import extract_parameters

    parameters = extract_parameters(body.text, categories=body.categories)
    result: dict[str, Any] = parameters.model_dump(mode="json")
    return result
