"""Errors of agents, handoffs and structured extraction.

BatonError
├── AgentDefinitionError        an agent that cannot be registered (duplicate name, untyped function)
├── UnknownAgentError           a name that no agent is registered under
└── TaskError
    ├── TaskTimeoutError
    │   └── AgentTimeoutError   the agent ran past its timeout (transient: the task's retry policy applies)
    ├── MissingContextError
    │   └── HandoffContextError the chain could not build an agent's input; names the missing fields
    └── PermanentError
        ├── AgentInputError     the input does not validate against the agent's input model
        ├── AgentOutputError    the agent returned something that is not its output model
        ├── ModelRequiredError  the agent has no deterministic skill and no model is configured
        └── ExtractionError     plain words that could not fill a model; lists missing and invalid fields
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

from baton.core.errors import BatonError, MissingContextError, PermanentError, TaskTimeoutError


class AgentDefinitionError(BatonError):
    exit_code = 2
    code = "invalid_agent"


class UnknownAgentError(BatonError):
    exit_code = 2
    http_status = 404
    code = "unknown_agent"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = sorted(known)
        super().__init__(
            f"no agent is registered as {name!r} (registered: {', '.join(names) or 'none'})",
            hint="register it with @register(...) and import its module before the run starts",
            details={"agent": name, "registered": names},
        )


class AgentTimeoutError(TaskTimeoutError):
    code = "agent_timeout"

    def __init__(self, agent: str, timeout: float, *, where: str = "") -> None:
        super().__init__(
            f"agent {agent!r} did not finish within {timeout:g} s{where}",
            hint="raise the agent's timeout, or make its work smaller; the task will retry per its policy",
            details={"agent": agent, "timeout": timeout},
        )
        self.agent = agent
        self.timeout = timeout


def validation_fields(error: ValidationError) -> tuple[list[str], dict[str, str]]:
    """The missing fields and the invalid ones (with the reason) of a pydantic validation error."""
    missing: list[str] = []
    invalid: dict[str, str] = {}
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(root)"
        if problem["type"] == "missing":
            missing.append(where)
        else:
            invalid[where] = problem["msg"]
    return missing, invalid


def _listing(missing: Sequence[str], invalid: Mapping[str, str]) -> str:
    parts = []
    if missing:
        parts.append("missing: " + ", ".join(missing))
    if invalid:
        parts.append("invalid: " + "; ".join(f"{k} ({v})" for k, v in invalid.items()))
    return "; ".join(parts)


class AgentInputError(PermanentError):
    code = "agent_input_invalid"

    def __init__(self, agent: str, missing: Sequence[str], invalid: Mapping[str, str]) -> None:
        super().__init__(
            f"agent {agent!r} got an input that does not fit its model ({_listing(missing, invalid)})",
            hint="check what the step passes to the agent",
            details={"agent": agent, "missing": list(missing), "invalid": dict(invalid)},
        )
        self.missing = list(missing)
        self.invalid = dict(invalid)


class AgentOutputError(PermanentError):
    code = "agent_output_invalid"

    def __init__(self, agent: str, expected: str, reason: str) -> None:
        super().__init__(
            f"agent {agent!r} returned something that is not a {expected}: {reason}",
            hint="an agent must return its declared output model",
            details={"agent": agent, "expected": expected},
        )


class ModelRequiredError(PermanentError):
    code = "model_required"

    def __init__(self, agent: str) -> None:
        super().__init__(
            f"agent {agent!r} needs a language model and none is configured",
            hint="configure a model under [llm] in baton.toml, or give the agent a deterministic skill",
            details={"agent": agent},
        )


class HandoffContextError(MissingContextError):
    def __init__(self, agent: str, position: int, missing: Sequence[str], available: Iterable[str]) -> None:
        have = sorted(available)
        super().__init__(
            f"handoff to agent {agent!r} (#{position + 1} of the chain) lacks {', '.join(missing)}; "
            f"the chain holds {', '.join(have) or 'nothing'}",
            hint="give the chain's first context those fields, or have an earlier agent produce them",
            details={"agent": agent, "missing": list(missing), "available": have},
        )
        self.missing = list(missing)


class ExtractionError(PermanentError):
    code = "extraction_failed"
    http_status = 422

    def __init__(
        self,
        target: str,
        missing: Sequence[str],
        invalid: Mapping[str, str],
        *,
        produced_by: str,
        attempts: int = 1,
    ) -> None:
        super().__init__(
            f"could not extract a {target} from the text ({_listing(missing, invalid)}) "
            f"[{produced_by}, {attempts} attempt{'s' if attempts != 1 else ''}]",
            hint="state the missing values in the text, or pass them explicitly",
            details={
                "target": target,
                "missing": list(missing),
                "invalid": dict(invalid),
                "produced_by": produced_by,
            },
        )
        self.missing = list(missing)
        self.invalid = dict(invalid)
        self.produced_by = produced_by
