"""Prometheus metrics: one :class:`Metrics` per process (or per app in tests), each on its own registry.

Counters that follow the event stream (retries, task durations, model calls, tokens, cost) are fed by
:meth:`Metrics.observe_event`, which every consumer of events (the server's event hub) calls once per
event. Gauges of what is stored now (runs and tasks by state, queue depth, worker heartbeats) come from
a collector registered with :meth:`Metrics.register_collector` and read at scrape time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import Collector

from baton.core.events import EventType

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5)
_DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """Every metric baton exports. Names start with ``baton_``; labels are bounded sets."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        r = self.registry
        self.http_requests = Counter(
            "baton_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "baton_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.stream_connections = Gauge(
            "baton_stream_connections", "Open live-stream connections", ["transport"], registry=r
        )
        self.stream_messages = Counter(
            "baton_stream_messages", "Messages sent to live-stream clients", ["transport"], registry=r
        )
        self.stream_dropped = Counter(
            "baton_stream_dropped_clients", "Clients disconnected for falling too far behind", registry=r
        )
        self.stream_delay = Histogram(
            "baton_stream_delivery_delay_seconds",
            "Delay from the timestamp of the oldest event the event hub found in a poll to its hand-off to"
            " the stream clients",
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.stream_send_delay = Histogram(
            "baton_stream_send_delay_seconds",
            "Delay from the timestamp of the oldest event in a frame to the frame's write to a client",
            ["transport"],
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.task_duration = Histogram(
            "baton_task_duration_seconds",
            "Duration of task attempts that finished, by workflow, step and outcome",
            ["workflow", "step", "outcome"],
            buckets=_TASK_BUCKETS,
            registry=r,
        )
        self.task_transitions = Counter(
            "baton_task_transitions", "Task state changes by target state", ["to"], registry=r
        )
        self.retries = Counter(
            "baton_task_retries", "Task attempts that failed and will be retried", registry=r
        )
        self.run_finished = Counter(
            "baton_runs_finished", "Runs that ended, by workflow and state", ["workflow", "state"], registry=r
        )
        self.run_duration = Histogram(
            "baton_run_duration_seconds",
            "Duration of runs that ended, from start to end, by workflow and final state",
            ["workflow", "state"],
            buckets=_TASK_BUCKETS,
            registry=r,
        )
        self.model_calls = Counter(
            "baton_model_calls",
            "Model calls by model, status and cache hit",
            ["model", "status", "cache"],
            registry=r,
        )
        self.model_tokens = Counter(
            "baton_model_tokens", "Model tokens by model and direction", ["model", "direction"], registry=r
        )
        self.model_cost = Counter(
            "baton_model_cost_usd", "Model cost in US dollars by model", ["model"], registry=r
        )

    # -- events ----------------------------------------------------------------------------------

    def observe_event(
        self, event_type: str, data: Mapping[str, Any], *, workflow: str = "", duration: float | None = None
    ) -> None:
        """Count one event. ``duration`` is the attempt's running time when a task left ``running``, and
        the run's time from start to end when it ended."""
        if event_type == EventType.TASK_STATE:
            target = str(data.get("to", ""))
            self._labelled(self.task_transitions, target).inc()
            if target == "retrying":
                self.retries.inc()
            if duration is not None and data.get("from") == "running":
                step = str(data.get("step", ""))
                self._labelled(self.task_duration, workflow, step, target).observe(duration)
        elif event_type == EventType.RUN_STATE:
            target = str(data.get("to", ""))
            if target in ("succeeded", "failed", "cancelled"):
                self.run_finished.labels(workflow=workflow, state=target).inc()
                if duration is not None:
                    self.run_duration.labels(workflow=workflow, state=target).observe(duration)
        elif event_type == EventType.MODEL_CALL:
            model = str(data.get("model", ""))
            cache = "hit" if data.get("cache_hit") else "miss"
            self.model_calls.labels(model=model, status=str(data.get("status", "")), cache=cache).inc()
            self.model_tokens.labels(model=model, direction="in").inc(float(data.get("tokens_in") or 0))
            self.model_tokens.labels(model=model, direction="out").inc(float(data.get("tokens_out") or 0))
            self.model_cost.labels(model=model).inc(float(data.get("cost_usd") or 0.0))

    def _labelled(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, remembered: the hub calls this for every event of a busy run, and
        prometheus-client's ``labels`` costs more than the observation itself."""
        child = self._children.get((metric, values))
        if child is None:
            child = self._children[(metric, values)] = metric.labels(*values)
        return child

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.http_latency.labels(method=method, route=route).observe(seconds)

    # -- export ----------------------------------------------------------------------------------

    def register_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
