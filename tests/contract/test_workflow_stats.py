"""The hourly aggregates (``StatsStore``: add_stats / stats) over every ExecutionStore adapter:
adds sum per (workflow, hour), concurrent adds all count, and a read starts at the hour asked."""

from __future__ import annotations

import threading
import uuid

from workflow_executor.models import ExecutionStatus, Usage
from workflow_executor.ports import ExecutionStore, PauseStore, StatsStore
from workflow_executor.workflow_stats import counts_for, summarize

HOUR = 497_000  # an hour (Unix s // 3600) in 2026; each test uses its own workflow names


def test_adds_sum_per_workflow_and_hour_and_a_read_starts_at_the_hour_asked(store: ExecutionStore) -> None:
    assert isinstance(store, StatsStore)
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    store.add_stats(wf, HOUR, {"runs": 1, "st_completed": 1, "cost": 0.25})
    store.add_stats(wf, HOUR, {"runs": 1, "st_failed": 1, "cost": 0.5})
    store.add_stats(wf, HOUR + 1, {"runs": 1})
    store.add_stats(wf, HOUR - 5, {"runs": 7})
    mine = {r.hour: dict(r.counts) for r in store.stats(HOUR) if r.workflow == wf}
    assert mine == {HOUR: {"runs": 2.0, "st_completed": 1.0, "st_failed": 1.0, "cost": 0.75},
                    HOUR + 1: {"runs": 1.0}}


def test_concurrent_adds_from_several_threads_all_count(store: ExecutionStore) -> None:
    assert isinstance(store, StatsStore)
    wf = f"wf-{uuid.uuid4().hex[:8]}"

    def add() -> None:
        for _ in range(5):
            store.add_stats(wf, HOUR, {"runs": 1, "d10": 1})

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    [row] = [r for r in store.stats(HOUR) if r.workflow == wf]
    assert row.counts == {"runs": 20.0, "d10": 20.0}


def test_the_summary_gives_success_rate_and_duration_quantiles_from_stored_rows(store: ExecutionStore) -> None:
    assert isinstance(store, StatsStore)
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    for i in range(100):  # 1..100 s, 90 completed
        status = ExecutionStatus.COMPLETED if i < 90 else ExecutionStatus.FAILED
        store.add_stats(wf, HOUR, counts_for(status, float(i + 1), Usage(prompt_tokens=10, cost_usd=0.01)))
    s = summarize(store.stats(HOUR - 23), now_s=HOUR * 3600.0 + 10, hours=24)[wf]
    assert s.runs == 100 and s.success_rate == 0.9 and s.tokens_in == 1000
    assert s.p50_s is not None and 50 <= s.p50_s <= 50 * 1.2
    assert s.p95_s is not None and 95 <= s.p95_s <= 95 * 1.2
    assert s.series[-1] == (100, 10) and sum(r for r, _ in s.series) == 100


def test_a_paused_key_stays_paused_until_resumed_and_both_are_idempotent(store: ExecutionStore) -> None:
    assert isinstance(store, PauseStore)
    key = f"schedule:wf-{uuid.uuid4().hex[:8]}/x:0"
    store.set_paused(key, True)
    store.set_paused(key, True)
    assert key in store.paused()
    store.set_paused(key, False)
    store.set_paused(key, False)
    assert key not in store.paused()
