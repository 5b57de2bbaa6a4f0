"""The architect: with a model, the idea becomes the spec through structured output against the spec's
JSON schema, validated by the same validator as ``--spec``, re-asked once with the validation errors.
A JSON object inside a ```json fence (or with prose around it) is accepted. When the model's answer fails
twice, the rules' spec is used and the spec's assumptions say so.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from baton.agents import AgentContext
from baton.core.errors import InvalidInputError
from baton.llm import AllModelsFailedError, BudgetExceededError, Complexity, Message, ModelRequest, Role
from baton.workflows.builder.acceptance import attach_checks
from baton.workflows.builder.architecture import BuildInputs
from baton.workflows.builder.spec import BuildSpec, Environment, Stack, default_azure_plan, validate_spec

MAX_ANSWER_CHARS = 200_000
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.DOTALL)

SYSTEM = """You are the architect of a web service. Turn the idea into a build spec: one JSON object \
that follows the JSON schema given. Keep the user's own words for names; entities are things stored \
(nouns), never verbs; give each entity its fields with types; relations between entities; jobs for \
anything scheduled. State what the service must do as `requirements` (R1, R2, …): a requirement the \
spec's features implement names them in `implemented_by` (entity:<e>, relation:<p>><c>, field:<e>.<f>, \
rule:<kind>:<e>, query:<kind>:<e>, job:<name>). Ideas that are not about storing things — a calculator, \
a converter, a webhook relay — need no entities (or only what they must keep, e.g. a log of relayed \
calls): give each of their behaviours as a requirement WITHOUT `implemented_by`, with `checks` you \
state — HTTP requests against the running service (API key added) and what must come back, e.g. \
{"method": "GET", "path": "/convert", "params": {"celsius": 100}, "expect_status": 200, \
"expect_fields": {"fahrenheit": 212}}, and a refused input with its 4xx status. Code is written for \
those requirements afterwards; their checks decide whether they are honoured. Say in `assumptions` \
what you assumed. Answer with the JSON object only."""


def parse_answer(text: str, structured: Any = None) -> dict[str, Any]:
    """The JSON object of a model's answer: structured output, a fenced block, or the outermost braces.
    Raises ``ValueError`` saying what was wrong."""
    if isinstance(structured, dict):
        return structured
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"the answer is {len(text)} characters long; a spec is far shorter")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    problem = "the answer holds no JSON object"
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError as error:
            problem = f"the answer is not valid JSON ({error})"
            continue
        if isinstance(value, dict):
            return value
        problem = f"the answer is JSON but a {type(value).__name__}, not an object"
    raise ValueError(problem)


def _apply_inputs(raw: dict[str, Any], inputs: BuildInputs, rules: BuildSpec | None) -> dict[str, Any]:
    """The run's own choices win over the model's (stack, environment); the Azure plan is baton's
    (priced and checked by the infrastructure stage), not the model's to invent."""
    raw = dict(raw)
    if inputs.stack is not None:
        raw["stack"] = inputs.stack.value
    raw.setdefault("stack", (rules.stack if rules is not None else Stack.FASTAPI).value)
    environment = inputs.env or (rules.environment if rules is not None else Environment.DEV)
    raw["environment"] = environment.value
    with contextlib.suppress(ValueError):  # an unknown stack: the validator names it
        raw["azure"] = default_azure_plan(Stack(raw["stack"])).model_dump(mode="json")
    return raw


async def design_with_model(
    agents: AgentContext, inputs: BuildInputs, rules: BuildSpec | None
) -> tuple[BuildSpec | None, str, str | None]:
    """The spec, who produced it (``model:<name>`` or ``rules``), and why the model's was not used.
    ``rules`` is the fallback; when the rules made no spec either, the spec is None and the reason says
    why the model's was not used."""
    ctx = agents
    request = ModelRequest.of(
        f"The idea:\n{inputs.idea.strip()}",
        system=SYSTEM,
        response_schema=BuildSpec.model_json_schema(),
        schema_name="build_spec",
        complexity=Complexity.MODERATE,
        max_tokens=4096,
    )
    problem = ""
    for _attempt in range(2):
        try:
            answer = await ctx.complete(request)
        except (BudgetExceededError, AllModelsFailedError) as error:
            return rules, "rules", f"the model could not answer ({error.message[:200]})"
        try:
            raw = parse_answer(answer.text, answer.structured)
            spec = attach_checks(validate_spec(_apply_inputs(raw, inputs, rules), source="the model's spec"))
        except InvalidInputError as error:
            problem = error.message
        except ValueError as error:
            problem = str(error)
        else:
            return spec, answer.produced_by, None
        request = request.with_messages(
            Message(Role.ASSISTANT, answer.text[:20_000]),
            Message(
                Role.USER, f"That spec was refused: {problem[:2000]}\nAnswer again with the corrected JSON."
            ),
        )
    return rules, "rules", f"the model's spec was refused twice ({problem[:300]})"
