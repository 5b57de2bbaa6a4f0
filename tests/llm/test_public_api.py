"""The public faces of baton.llm and baton.agents change only on purpose."""

from __future__ import annotations

import baton.agents
import baton.llm

LLM = {
    "MODEL_CALL_EVENT", "AllModelsFailedError", "BreakerSettings", "BreakerState", "BudgetExceededError",
    "CacheStats", "CallContext", "CallStatus", "CircuitBreaker", "CircuitOpenError", "Complexity", "CostLine",
    "CostReport", "Gateway", "GatewayConfig", "GatewayConfigError", "GatewayStats", "MalformedResponseError",
    "Message", "ModelConfig", "ModelRequest", "ModelResponse", "NoModelConfiguredError", "ProviderConfig",
    "ProviderError", "ProviderKind", "ProviderRejectedError", "ProviderTimeoutError", "RateLimitedError",
    "ReplayMissingError", "Role", "ToolCall", "ToolChoice", "ToolSpec", "UnknownModelError", "Usage", "cost_report",
    "count_tokens", "load_config",
}  # fmt: skip
AGENTS = {
    "AGENT_CALL_EVENT", "Agent", "AgentContext", "AgentDefinitionError", "AgentInputError", "AgentOutputError",
    "AgentRegistry", "AgentResult", "AgentTimeoutError", "ChainResult", "ContextSpec", "Extracted",
    "ExtractionError", "HandoffContextError", "ModelRequiredError", "Skill", "UnknownAgentError",
    "assemble_context", "call", "default_registry", "define_agent", "extract", "handoff_chain", "register",
    "store_emitter",
}  # fmt: skip


def test_the_public_names_are_exactly_these() -> None:
    assert set(baton.llm.__all__) == LLM
    assert set(baton.agents.__all__) == AGENTS
    for module in (baton.llm, baton.agents):
        assert all(hasattr(module, name) for name in module.__all__)
