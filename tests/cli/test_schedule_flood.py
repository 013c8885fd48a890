"""Schedules and triggers cannot flood the queue (issue 18, item 5): a minimum interval between
firings (WFX_SCHEDULE_MIN_INTERVAL_S, default 60 s), at most ``max_concurrent`` unfinished runs
per workflow with an overlap policy (skip / queue / cancel_older, as Temporal schedules), and a
local queue that takes workflows in turn, so an unrelated run is not starved."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from support import eventually
from workflow_executor.adapters.local import LocalTaskQueue
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.models import ExecutionStatus
from workflow_executor.ports import TaskRequest
from workflow_executor.schedules import PRINCIPAL, Scheduler
from workflow_executor.settings import Settings

LONG = "workflows: {long: {steps: [{id: s, function: builtins.sleep, args: {seconds: 3, value: slept}}]}}\n"
QUICK = "workflows: {quick: {steps: [{id: q, function: builtins.echo, args: {value: quick}}]}}\n"


def _executor(tmp: Path, **env: str) -> Executor:
    s = Settings.from_env({"WFX_HOME": str(tmp / "home"), "WFX_QUEUE_WORKERS": "2", **env})
    return Executor.local(settings=replace(s, sweep_interval_s=0))


def _runs(wfx: Executor, name: str) -> list[ExecutionStatus]:
    return [e.status for e in wfx.executions(workflow_name=name, limit=500).items]


def test_a_schedule_firing_more_often_than_the_minimum_is_refused_with_the_setting_that_allows_it(
        tmp_path: Path) -> None:
    doc = LONG + "schedule: {cron: '*/5 * * * * *'}\n"
    with _executor(tmp_path) as wfx, pytest.raises(SpecError) as info:
        wfx.register(doc)
    issue = info.value.issues[0]
    assert issue.path == "schedules[0].cron" and "5 s" in issue.message
    assert "WFX_SCHEDULE_MIN_INTERVAL_S" in (issue.fix or "")
    with _executor(tmp_path / "b", WFX_SCHEDULE_MIN_INTERVAL_S="5") as wfx:
        assert wfx.register(doc)[0].name == "long"


def test_twenty_per_second_schedules_start_one_run_at_a_time_and_starve_nothing(tmp_path: Path) -> None:
    doc = LONG + "schedules:\n" + "".join("  - {cron: '* * * * * *'}\n" for _ in range(20))
    with _executor(tmp_path, WFX_SCHEDULE_MIN_INTERVAL_S="1") as wfx:
        wfx.register(doc)
        wfx.register(QUICK)
        sched = Scheduler(wfx, refresh_s=0.2).start()
        try:
            eventually(lambda: sched.skipped >= 20, timeout=15)
            quick = wfx.start("quick", None)
            assert wfx.wait(quick.id, timeout=10).status == ExecutionStatus.COMPLETED  # not starved
        finally:
            sched.stop()
        long_runs = wfx.executions(workflow_name="long", limit=500).items
        assert 1 <= len(long_runs) <= 2, [e.status for e in long_runs]  # one at a time (a second after it ended)
        assert all(e.principal == PRINCIPAL for e in long_runs)
        for e in long_runs:
            wfx.cancel(e.id)


def test_cancel_older_keeps_only_the_newest_run(tmp_path: Path) -> None:
    doc = LONG.replace("seconds: 3", "seconds: 20") + "schedule: {cron: '* * * * * *', overlap: cancel_older}\n"
    with _executor(tmp_path, WFX_SCHEDULE_MIN_INTERVAL_S="1") as wfx:
        wfx.register(doc)
        sched = Scheduler(wfx, refresh_s=0.2).start()
        try:
            eventually(lambda: _runs(wfx, "long").count(ExecutionStatus.CANCELLED) >= 2, timeout=15)
        finally:
            sched.stop()
        statuses = _runs(wfx, "long")
        unfinished = [s for s in statuses if s in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)]
        assert len(unfinished) == 1, statuses
        for e in wfx.executions(workflow_name="long", limit=50).items:
            wfx.cancel(e.id)


def test_a_trigger_cannot_queue_past_its_limit() -> None:
    doc = QUICK + "triggers: [{topic: t, max_concurrent: 2, overlap: queue}]\n"
    from workflow_executor.spec import check, load_text

    report = check(load_text(doc, source="t.yaml"))
    assert [i.path for i in report.errors] == ["triggers[0].overlap"]


def test_the_local_queue_takes_workflows_in_turn() -> None:
    order: list[str] = []
    gate = threading.Event()

    def handler(req: TaskRequest) -> None:
        if req.execution_id == "a0":
            gate.wait(10)  # hold the only worker while the rest queue up
        order.append(req.execution_id)

    queue = LocalTaskQueue(handler, workers=1)
    try:
        for i in range(6):
            queue.enqueue(TaskRequest(f"a{i}", group="flood"))
        queue.enqueue(TaskRequest("b0", group="other"))
        time.sleep(0.05)  # let a0 take the worker (the rest wait in the queue)
        gate.set()
        eventually(lambda: len(order) == 7, timeout=10)
    finally:
        queue.close()
    assert order[:3] == ["a0", "a1", "b0"], order  # the other workflow's run is next but one, not last
