"""Agents: the protocol and registry, calls with timeouts and events, handoff chains, context
assembly and structured extraction into pydantic models."""

from baton.agents.agent import (
    AGENT_CALL_EVENT,
    Agent,
    AgentContext,
    AgentResult,
    Skill,
    store_emitter,
)
from baton.agents.calls import ChainResult, call, handoff_chain
from baton.agents.context import ContextSpec, assemble_context
from baton.agents.errors import (
    AgentDefinitionError,
    AgentInputError,
    AgentOutputError,
    AgentTimeoutError,
    ExtractionError,
    HandoffContextError,
    ModelRequiredError,
    UnknownAgentError,
)
from baton.agents.extraction import Extracted, extract
from baton.agents.registry import AgentRegistry, default_registry, define_agent, register

__all__ = [
    "AGENT_CALL_EVENT",
    "Agent",
    "AgentContext",
    "AgentDefinitionError",
    "AgentInputError",
    "AgentOutputError",
    "AgentRegistry",
    "AgentResult",
    "AgentTimeoutError",
    "ChainResult",
    "ContextSpec",
    "Extracted",
    "ExtractionError",
    "HandoffContextError",
    "ModelRequiredError",
    "Skill",
    "UnknownAgentError",
    "assemble_context",
    "call",
    "default_registry",
    "define_agent",
    "extract",
    "handoff_chain",
    "register",
    "store_emitter",
]
