"""The model gateway: providers, router, prices, cache, budgets, circuit breakers, record and replay.

Everything that talks to a language model goes through :class:`Gateway`. The engine passes each call's
run context as a :class:`CallContext`; the CLI reads costs with :func:`cost_report`.
"""

from baton.llm.breaker import BreakerState, CircuitBreaker
from baton.llm.cache import CacheStats
from baton.llm.config import (
    BreakerSettings,
    GatewayConfig,
    ModelConfig,
    ProviderConfig,
    ProviderKind,
    load_config,
)
from baton.llm.costs import CostLine, CostReport, cost_report
from baton.llm.errors import (
    AllModelsFailedError,
    BudgetExceededError,
    CircuitOpenError,
    GatewayConfigError,
    MalformedResponseError,
    NoModelConfiguredError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    RateLimitedError,
    ReplayMissingError,
    UnknownModelError,
)
from baton.llm.gateway import Gateway, GatewayStats
from baton.llm.messages import (
    CallContext,
    Complexity,
    Message,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCall,
    ToolChoice,
    ToolSpec,
    Usage,
)
from baton.llm.records import MODEL_CALL_EVENT, CallStatus
from baton.llm.tokens import count_tokens

__all__ = [
    "MODEL_CALL_EVENT",
    "AllModelsFailedError",
    "BreakerSettings",
    "BreakerState",
    "BudgetExceededError",
    "CacheStats",
    "CallContext",
    "CallStatus",
    "CircuitBreaker",
    "CircuitOpenError",
    "Complexity",
    "CostLine",
    "CostReport",
    "Gateway",
    "GatewayConfig",
    "GatewayConfigError",
    "GatewayStats",
    "MalformedResponseError",
    "Message",
    "ModelConfig",
    "ModelRequest",
    "ModelResponse",
    "NoModelConfiguredError",
    "ProviderConfig",
    "ProviderError",
    "ProviderKind",
    "ProviderRejectedError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "ReplayMissingError",
    "Role",
    "ToolCall",
    "ToolChoice",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "cost_report",
    "count_tokens",
    "load_config",
]
