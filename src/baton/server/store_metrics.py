"""Gauges of what the store holds now, read at scrape time: runs and tasks by state, the queue, workers."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from baton.core.states import RunState, TaskState
from baton.observability import get_logger
from baton.store.runs import store_state_counts
from baton.store.store import Store
from baton.store.workers import worker_heartbeats

_log = get_logger("baton.server.metrics")


class StoreCollector(Collector):
    """Counts by state with one GROUP BY per table; a store that cannot be read yields no samples."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            with self.store.read() as conn:
                run_counts, task_counts = store_state_counts(conn)
                beats = worker_heartbeats(conn)
        except Exception:
            _log.exception("metrics_store_unreadable")
            return
        by_run = GaugeMetricFamily("baton_runs", "Runs by state", labels=["state"])
        for state in RunState:
            by_run.add_metric([state.value], float(run_counts.get(state.value, 0)))
        by_task = GaugeMetricFamily("baton_tasks", "Tasks by state", labels=["state"])
        for task_state in TaskState:
            by_task.add_metric([task_state.value], float(task_counts.get(task_state.value, 0)))
        queue = GaugeMetricFamily("baton_queue_depth", "Tasks ready to run and not yet claimed")
        queue.add_metric([], float(task_counts.get(TaskState.READY.value, 0)))
        live = GaugeMetricFamily("baton_workers", "Registered workers")
        live.add_metric([], float(len(beats)))
        heartbeat = GaugeMetricFamily(
            "baton_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            labels=["worker"],
        )
        now = time.time()
        for worker_id, beat_at in beats:
            heartbeat.add_metric([worker_id], max(now - float(beat_at), 0.0))
        yield from (by_run, by_task, queue, live, heartbeat)
