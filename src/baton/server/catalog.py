"""The workflows a server offers: configured by name, loaded on first use."""

from __future__ import annotations

import threading

from baton.core.errors import WorkflowNotFoundError
from baton.core.workflow import Workflow
from baton.engine import load_workflow
from baton.server.state import ServerState

_lock = threading.Lock()


def workflow_ref(state: ServerState, name: str) -> str:
    """The reference (``module:attribute``) of an offered workflow; only offered workflows can be started."""
    ref = state.settings.workflows.get(name)
    if ref is None:
        offered = ", ".join(sorted(state.settings.workflows)) or "none"
        raise WorkflowNotFoundError(
            f"this server offers no workflow named {name!r} (it offers: {offered})",
            hint="list them with GET /workflows; a server offers more with `baton serve --workflow NAME=MODULE:ATTR`",
            details={"workflow": name},
        )
    return ref


def load_offered(state: ServerState, name: str) -> Workflow:
    ref = workflow_ref(state, name)
    with _lock:
        if name not in state.workflows:
            state.workflows[name] = load_workflow(ref)
    return state.workflows[name]


def name_of(state: ServerState, ref: str, fallback: str) -> str:
    for name, offered in state.settings.workflows.items():
        if offered == ref:
            return name
    return fallback
