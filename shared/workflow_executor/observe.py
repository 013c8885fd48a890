"""Observers of finished runs: the store the engine is given is wrapped so that every terminal
transition (``finish`` / ``finish_with_step``, compare-and-set: exactly once per run, whichever
process makes it) is handed to the observers - the hourly aggregates, and OpenTelemetry when it
is on. An observer's failure is logged and never fails the run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from .models import Execution
from .ports import ExecutionStore, StatsStore
from .workflow_stats import counts_for, hour_of

log = logging.getLogger(__name__)
_FINISHING = frozenset({"finish", "finish_with_step"})


class RunObserver(Protocol):
    def finished(self, execution: Execution) -> None:
        """``execution`` has just reached a terminal status (its step records may be absent)."""


class StatsObserver:
    """Adds each finished run to its workflow's hour (``ports.StatsStore``)."""

    def __init__(self, stats: StatsStore) -> None:
        self.stats = stats

    def finished(self, execution: Execution) -> None:
        ended = execution.ended_at_s or execution.updated_at_s
        took = ended - (execution.started_at_s or execution.created_at_s)
        self.stats.add_stats(execution.workflow_name, hour_of(ended),
                             counts_for(execution.status, took, execution.usage))


class ObservedStore:
    """An ExecutionStore that tells ``observers`` of each run it finishes; everything else goes
    straight to ``inner``. The methods are bound on the instance (no indirection per call), and
    only those ``inner`` has: it is a FoldingStore or a StatsStore exactly when ``inner`` is."""

    def __init__(self, inner: ExecutionStore, observers: Sequence[RunObserver]) -> None:
        self.inner = inner
        self.observers = tuple(observers)
        for name in dir(inner):
            if not name.startswith("_") and callable(getattr(inner, name, None)):
                attr = getattr(inner, name)
                setattr(self, name, self._observed(attr) if name in _FINISHING else attr)

    def __getattr__(self, name: str) -> Any:  # anything else an adapter offers (attributes)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _observed(self, fn: Callable[..., Execution]) -> Callable[..., Execution]:
        def call(*args: Any, **kwargs: Any) -> Execution:
            ex = fn(*args, **kwargs)
            for obs in self.observers:
                try:
                    obs.finished(ex)
                except Exception:  # metrics and traces are projections: never fail the run
                    log.exception("observer %s failed for execution %s", type(obs).__name__, ex.id)
            return ex

        return call


def observed(store: ExecutionStore, extra: Sequence[RunObserver] = ()) -> ExecutionStore:
    """``store`` wrapped with the aggregates observer (when it keeps aggregates) and ``extra``."""
    # a store that adds a run to its aggregates in the finish's own transaction needs no observer
    observers: list[RunObserver] = []
    if isinstance(store, StatsStore) and not getattr(store, "STATS_ON_FINISH", False):
        observers.append(StatsObserver(store))
    observers.extend(extra)
    return cast(ExecutionStore, ObservedStore(store, observers)) if observers else store
