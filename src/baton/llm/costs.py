"""Cost reports: what model calls cost, by run, step, agent and model, and what routing and caching saved.

The savings compare with sending every call to the most expensive configured model at the time of the
call: ``baseline`` is what the same tokens would have cost there. Caching saved what cache hits would
have cost on the model that answered; routing saved the rest of the difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from baton.core.errors import RunNotFoundError
from baton.llm.records import CallStatus
from baton.store.model_calls import cost_rows
from baton.store.store import Store


@dataclass(slots=True)
class CostLine:
    """One group of calls: a run, a step, an agent or a model."""

    key: str
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    baseline_usd: float = 0.0

    def add(self, row: Any, baseline: float) -> None:
        self.calls += 1
        self.cache_hits += int(bool(row.cache_hit))
        self.failures += int(row.status in (CallStatus.FAILED.value, CallStatus.REFUSED.value))
        self.tokens_in += int(row.tokens_in)
        self.tokens_out += int(row.tokens_out)
        self.cost_usd += float(row.cost_usd)
        self.baseline_usd += baseline


@dataclass(slots=True)
class CostReport:
    run_id: str | None
    total: CostLine = field(default_factory=lambda: CostLine("total"))
    by_run: list[CostLine] = field(default_factory=list)
    by_step: list[CostLine] = field(default_factory=list)
    by_agent: list[CostLine] = field(default_factory=list)
    by_model: list[CostLine] = field(default_factory=list)
    baseline_models: list[str] = field(default_factory=list)  # the most expensive model(s) compared with
    caching_savings_usd: float = 0.0
    replayed_calls: int = 0

    @property
    def savings_usd(self) -> float:
        return max(self.total.baseline_usd - self.total.cost_usd, 0.0)

    @property
    def routing_savings_usd(self) -> float:
        return max(self.savings_usd - self.caching_savings_usd, 0.0)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["savings_usd"] = self.savings_usd
        data["routing_savings_usd"] = self.routing_savings_usd
        return data


def cost_report(store: Store, run_id: str | None = None) -> CostReport:
    """The cost report of one run, or of every recorded call when ``run_id`` is None.

    Raises :class:`RunNotFoundError` for a run id that neither exists nor has recorded calls.
    """
    with store.read() as conn:
        found = cost_rows(conn, run_id)
    if found is None:
        raise RunNotFoundError(str(run_id))
    rows = found
    report = CostReport(run_id=run_id)
    groups: dict[str, dict[str, CostLine]] = {"run": {}, "step": {}, "agent": {}, "model": {}}
    keys: dict[str, Callable[[Any], str]] = {
        "run": lambda r: r.run_id or "(no run)",
        "step": lambda r: r.step or "(no step)",
        "agent": lambda r: r.agent or "(no agent)",
        "model": lambda r: r.model,
    }
    baselines: set[str] = set()
    for row in rows:
        route = _route(row.request)
        if row.status == CallStatus.REPLAYED.value:
            report.replayed_calls += 1
        answered = row.status in (CallStatus.OK.value, CallStatus.CACHED.value)
        baseline = float(route.get("baseline_cost_usd", row.cost_usd)) if answered else float(row.cost_usd)
        if answered and route.get("baseline_model"):
            baselines.add(str(route["baseline_model"]))
        if row.cache_hit:
            report.caching_savings_usd += float(route.get("list_cost_usd", 0.0))
        report.total.add(row, baseline)
        for name, group in groups.items():
            key = keys[name](row)
            group.setdefault(key, CostLine(key)).add(row, baseline)
    ordered = {
        name: sorted(group.values(), key=lambda line: (-line.cost_usd, line.key))
        for name, group in groups.items()
    }
    report.by_run, report.by_step = ordered["run"], ordered["step"]
    report.by_agent, report.by_model = ordered["agent"], ordered["model"]
    report.baseline_models = sorted(baselines)
    return report


def _route(request: str) -> dict[str, Any]:
    try:
        route = json.loads(request).get("route", {})
    except (ValueError, AttributeError):
        return {}
    return route if isinstance(route, dict) else {}
