"""The publish loop guard on the embedded queue: a workflow that publishes to a topic that
triggers itself starts itself at most WFX_TRIGGER_MAX_HOPS times, each run one hop deeper
(``wfx_hops``), and the refusal is logged; a run's children carry its hops on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support import eventually
from tools_support import executor
from workflow_executor.api import Executor
from workflow_executor.models import Execution, ExecutionStatus
from workflow_executor.ports_tools import hops_of

ENV = {"WFX_MQ_TOPICS": "loop,audit", "WFX_MQ_SUBSCRIPTIONS": "audit"}
PUBLISH = {"id": "again", "tool": "pub", "params": {"method": "publish_message", "channel": "loop",
                                                    "message": {"n": 1}}}
# publishes to the very topic that triggers it
ECHO = {"tools": [{"id": "pub", "type": "mcpmessage_queue_publisher"}],
        "workflows": {"echo": {"steps": [PUBLISH]}},
        "triggers": [{"topic": "loop", "workflow": "echo"}]}


def _settled(wfx: Executor, n: int) -> list[Execution]:
    def done() -> list[Execution]:
        items = wfx.executions(workflow_name="echo").items
        return items if len(items) >= n and all(e.finished for e in items) else []

    return eventually(done, 30.0, what=f"{n} finished runs of echo")


@pytest.mark.parametrize(("limit", "env"), [(5, ENV), (2, {**ENV, "WFX_TRIGGER_MAX_HOPS": "2"})])
def test_a_workflow_that_triggers_itself_stops_after_the_hop_limit_with_a_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, limit: int, env: dict[str, str]) -> None:
    caplog.set_level(logging.WARNING, logger="workflow_executor.triggers")
    with executor(tmp_path, env, memory=False) as wfx:
        wfx.register(ECHO)
        first = wfx.run("echo")
        assert first.status == ExecutionStatus.COMPLETED, first.error
        runs = _settled(wfx, limit + 1)
        # the last run's publish was refused synchronously (the embedded queue starts triggers
        # inside publish), so once every run has finished no further one can appear
        runs = wfx.executions(workflow_name="echo").items
        assert all(r.status == ExecutionStatus.COMPLETED for r in runs), [r.error for r in runs]
        assert sorted(r.trigger_hops for r in runs) == list(range(limit + 1))
        assert sorted(r.principal or "" for r in runs).count("trigger") == limit
        refused = [r for r in caplog.records if "WFX_TRIGGER_MAX_HOPS" in r.getMessage()]
        assert len(refused) == 1 and f"is {limit + 1} publish hops deep" in refused[0].getMessage()


def test_a_triggered_runs_children_publish_one_hop_further_than_it(tmp_path: Path) -> None:
    doc = {"tools": [{"id": "pub", "type": "mcpmessage_queue_publisher"},
                     {"id": "sub", "type": "mcpmessage_queue_consumer"}],
           "workflows": {
               "kick": {"steps": [PUBLISH]},
               "outer": {"steps": [{"id": "child", "invoke_workflow": "inner"},
                                   {"id": "read", "tool": "sub", "params": {
                                       "method": "start_consumer", "consumer_id": "c", "queue_name": "audit"}},
                                   {"id": "take", "tool": "sub", "params": {
                                       "method": "consume_messages", "consumer_id": "c", "wait_s": 0}}]},
               "inner": {"steps": [{"id": "p", "tool": "pub", "params": {
                   "method": "publish_message", "channel": "audit", "message": {"x": 1}}}]}},
           "triggers": [{"topic": "loop", "workflow": "outer"}]}
    with executor(tmp_path, ENV, memory=False) as wfx:
        wfx.register(doc)
        kick = wfx.run("kick")
        assert (kick.status, kick.trigger_hops) == (ExecutionStatus.COMPLETED, 0), kick.error

        def outer() -> Execution | None:
            items = wfx.executions(workflow_name="outer").items
            return items[0] if items and items[0].finished else None

        run = eventually(outer, 30.0, what="the triggered run of outer")
        assert (run.status, run.trigger_hops) == (ExecutionStatus.COMPLETED, 1), run.error
        child = wfx.status(f"{run.id}.child")
        assert child.trigger_hops == 1
        [message] = wfx.status(run.id).steps["take"].output["messages"]
        assert hops_of(message["attributes"]) == 2


@pytest.mark.parametrize(("attributes", "hops"), [({}, 0), ({"wfx_hops": "3"}, 3), ({"wfx_hops": "-4"}, 0),
                                                  ({"wfx_hops": "many"}, 0)])
def test_a_message_hop_count_is_a_non_negative_number(attributes: dict[str, str], hops: int) -> None:
    assert hops_of(attributes) == hops
