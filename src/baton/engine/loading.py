"""Finding workflows by reference (``package.module:attribute``) and turning them into task plans."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from pydantic import BaseModel

from baton.core.errors import WorkflowNotFoundError
from baton.core.states import TaskKind
from baton.core.workflow import Workflow
from baton.store.rows import TaskPlan

_registry: dict[str, Workflow] = {}


def register_workflow(workflow: Workflow, ref: str | None = None) -> str:
    """Make a workflow known by reference in this process (for workflows that are not importable)."""
    key = ref or workflow.name
    _registry[key] = workflow
    return key


def load_workflow(ref: str) -> Workflow:
    """The workflow at ``module:attribute`` (the current directory is importable, like ``python -m``)."""
    if ref in _registry:
        return _registry[ref]
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise WorkflowNotFoundError(
            f"{ref!r} is not a workflow reference", hint="write it as MODULE:WORKFLOW, e.g. myflows:nightly"
        )
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise WorkflowNotFoundError(
            f"cannot import module {module_name!r} ({error})",
            hint="check the name and that it is on PYTHONPATH or in the current directory",
        ) from None
    except Exception as error:  # the user's module itself is broken: say where, not a traceback
        raise WorkflowNotFoundError(
            f"importing module {module_name!r} failed: {type(error).__name__}: {error}",
            hint="fix the module (run `python -c 'import " + module_name + "'` to see the traceback)",
        ) from None
    workflow = getattr(module, attribute, None)
    if not isinstance(workflow, Workflow):
        found = "nothing" if workflow is None else type(workflow).__name__
        raise WorkflowNotFoundError(
            f"{module_name}.{attribute} is {found}, not a baton Workflow",
            hint=f"define `{attribute} = Workflow(...)` in {module_name}",
        )
    _registry[ref] = workflow
    return workflow


def plan_tasks(workflow: Workflow, critical: set[str], inputs: BaseModel | None) -> list[TaskPlan]:
    """One task per step, in dependency order; a mapped step becomes a MAP task that expands at run time."""
    steps = workflow.steps
    return [
        TaskPlan(
            name=name,
            step=name,
            kind=TaskKind.MAP if steps[name].map_over else TaskKind.STEP,
            dependencies=steps[name].dependencies,
            priority=steps[name].priority,
            critical=name in critical,
            approval=steps[name].needs_approval(inputs),
            max_attempts=steps[name].retry.attempts,
            map_over=steps[name].map_over,
        )
        for name in workflow.order()
    ]
