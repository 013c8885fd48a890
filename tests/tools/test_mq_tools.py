"""``message_queue_publisher`` / ``_consumer`` (LangSwarm ``mcpmessage_queue_*``) on the embedded
SQLite queue, through real workflow runs: a publish to a trigger topic starts the triggered
workflow; consumers read only allowed subscriptions; a document cannot reach a topic or
subscription the operator did not allow, nor another caller's consumers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer
from support import eventually
from tools_support import executor
from workflow_executor.api import Executor
from workflow_executor.errors import InvalidArgument
from workflow_executor.models import Execution, ExecutionStatus
from workflow_executor.settings import Settings

ENV = {"WFX_MQ_TOPICS": "orders,audit", "WFX_MQ_SUBSCRIPTIONS": "order-log=orders,audit"}
TOOLS = [{"id": "pub", "type": "mcpmessage_queue_publisher"}, {"id": "sub", "type": "mcpmessage_queue_consumer"}]
ON_ORDER = {"workflows": {"on_order": {"steps": [{"id": "echo", "function": "builtins.echo",
                                                  "args": {"value": "${input.order}"}, "output": {"to": "user"}}]}},
            "triggers": [{"topic": "orders", "workflow": "on_order", "input": {"order": "${message.data.order}"}}]}


def _doc(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tools": TOOLS, "workflows": {"w": {"steps": list(steps)}}}


def _pub(sid: str, channel: str, message: Any, **more: Any) -> dict[str, Any]:
    return {"id": sid, "tool": "pub", "params": {"method": "publish_message", "channel": channel,
                                                 "message": message, **more}}


def _sub(sid: str, method: str, **params: Any) -> dict[str, Any]:
    return {"id": sid, "tool": "sub", "params": {"method": method, **params}}


def _triggered(wfx: Executor, n: int) -> list[Execution]:
    def done() -> list[Execution]:
        items = wfx.executions(workflow_name="on_order").items
        return items if len(items) >= n and all(e.finished for e in items) else []

    return eventually(done, 20.0, what=f"{n} triggered runs")


def test_a_publish_to_a_trigger_topic_starts_the_triggered_workflow(tmp_path: Path) -> None:
    with executor(tmp_path, ENV, memory=False) as wfx:
        wfx.register(ON_ORDER)
        done = wfx.run(workflow=_doc(_pub("p", "orders", {"order": 42}, metadata={"by": "test"}),
                                     {"id": "q", "tool": "pub", "params": {"method": "list_channels"}}))
        assert done.status == ExecutionStatus.COMPLETED, done.error
        out = done.steps["p"].output
        assert (out["success"], out["channel"], out["broker_type"]) == (True, "orders", "sqlite")
        assert done.steps["q"].output["channels"] == ["orders", "audit"]
        [run] = _triggered(wfx, 1)
        assert (run.status, run.result, run.principal) == (ExecutionStatus.COMPLETED, 42, "trigger")
        key = run.idempotency_key or ""  # topic + message id + publish time + workflow (as from Pub/Sub)
        assert key.startswith(f"msg:orders:{out['message_id']}:") and key.endswith(":on_order"), key
        quiet = wfx.run(workflow=_doc(_pub("p", "audit", {"order": 1})))  # no trigger listens on audit
        assert quiet.status == ExecutionStatus.COMPLETED
        assert len(_triggered(wfx, 1)) == 1


def test_a_consumer_takes_the_messages_of_its_subscription_and_can_pause(tmp_path: Path) -> None:
    with executor(tmp_path, ENV, memory=False) as wfx:
        done = wfx.run(workflow=_doc(
            _sub("start", "start_consumer", consumer_id="c1", queue_name="order-log", broker_type="gcp_pubsub"),
            _pub("p1", "orders", {"n": 1}), _pub("p2", "orders", {"n": 2}), _pub("p3", "audit", {"n": 3}),
            _sub("take", "consume_messages", consumer_id="c1", max_messages=10, wait_s=0),
            _sub("pause", "pause_consumer", consumer_id="c1"),
            _pub("p4", "orders", {"n": 4}),
            _sub("paused", "consume_messages", consumer_id="c1", wait_s=0),
            _sub("resume", "resume_consumer", consumer_id="c1"),
            _sub("later", "consume_messages", consumer_id="c1", wait_s=0),
            _sub("stats", "get_consumer_stats", consumer_id="c1"),
            _sub("all", "list_consumers"),
            _sub("stop", "stop_consumer", consumer_id="c1"),
            _sub("none", "list_consumers")))
        assert done.status == ExecutionStatus.COMPLETED, done.error
        steps = {k: r.output for k, r in done.steps.items()}
        assert steps["start"]["broker_info"] == {"broker_type": "sqlite", "queue_name": "order-log"}
        taken = steps["take"]["messages"]
        assert [m["data"] for m in taken] == [{"n": 1}, {"n": 2}]  # audit's message is not on order-log
        assert taken[0]["attributes"] == {"wfx_execution": done.id, "wfx_step": "p1", "wfx_hops": "1"}
        assert (steps["paused"]["status"], steps["paused"]["messages"]) == ("paused", [])
        assert [m["data"] for m in steps["later"]["messages"]] == [{"n": 4}]
        assert (steps["stats"]["status"], steps["stats"]["tasks_processed"]) == ("running", 3)
        assert steps["all"]["total_consumers"] == 1 and steps["all"]["total_tasks_processed"] == 3
        assert steps["stop"]["tasks_completed"] == 3 and steps["none"]["consumers"] == []


# nothing is open by default: with no WFX_MQ_* a used tool fails validation (test_closed_tools_validate.py)
@pytest.mark.parametrize(("env", "step", "code"), [
    (ENV, _pub("p", "payments", {"a": 1}), "topic_not_allowed"),
    (ENV, _pub("p", "projects/other/topics/orders", {"a": 1}), "topic_not_allowed"),
    (ENV, _sub("s", "start_consumer", consumer_id="c", queue_name="orders"), "subscription_not_allowed"),
    (ENV, _sub("s", "start_consumer", consumer_id="c", queue_name="audit",
               broker_config={"redis_url": "redis://10.0.0.1:6379"}), "invalid_argument"),
    ({**ENV, "WFX_MQ_MAX_MESSAGE_BYTES": "100"}, _pub("p", "orders", {"blob": "x" * 200}), "message_too_large"),
])
def test_a_document_reaches_only_what_the_operator_allowed(tmp_path: Path, env: dict[str, str],
                                                           step: dict[str, Any], code: str) -> None:
    with executor(tmp_path, env) as wfx:
        wfx.register(ON_ORDER)
        done = wfx.run(workflow=_doc(step))
        assert done.status == ExecutionStatus.FAILED
        assert done.error is not None and done.error.code == code
        assert wfx.executions(workflow_name="on_order").items == []  # nothing was published


def test_a_caller_cannot_see_or_drive_another_callers_consumer(tmp_path: Path) -> None:
    with executor(tmp_path, ENV, memory=False) as wfx:
        mine = wfx.run(workflow=_doc(_sub("s", "start_consumer", consumer_id="c1", queue_name="audit"),
                                     _pub("p", "audit", {"x": 1})), principal="alice")
        assert mine.status == ExecutionStatus.COMPLETED, mine.error
        theirs = wfx.run(workflow=_doc(_sub("l", "list_consumers")), principal="bob")
        assert theirs.steps["l"].output["consumers"] == []
        for method in ("consume_messages", "get_consumer_stats", "pause_consumer", "stop_consumer"):
            bob = wfx.run(workflow=_doc(_sub("x", method, consumer_id="c1")), principal="bob")
            assert bob.error is not None and bob.error.code == "not_found", method
        again = wfx.run(workflow=_doc(_sub("t", "consume_messages", consumer_id="c1", wait_s=0)), principal="alice")
        assert [m["data"] for m in again.steps["t"].output["messages"]] == [{"x": 1}]


def test_the_operator_names_topics_never_a_project_path() -> None:
    with pytest.raises(InvalidArgument) as err:
        Settings.from_env({"WFX_MQ_TOPICS": "projects/p/topics/t"})
    assert "WFX_MQ_TOPICS" in err.value.message
    parsed = Settings.from_env(ENV).tools
    assert parsed.mq_topics == ("orders", "audit")
    assert parsed.mq_subscriptions == (("order-log", "orders"), ("audit", "audit"))


def test_an_agent_publishes_a_message_that_starts_the_triggered_workflow(tmp_path: Path) -> None:
    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini", **ENV})
        llm.script({"tool_calls": [{"name": "pub__publish_message",
                                    "arguments": {"channel": "payments", "message": {"order": 1}}}]},
                   {"tool_calls": [{"name": "pub__publish_message",
                                    "arguments": {"channel": "orders", "message": {"order": 7}}}]},
                   "sent")
        doc = {"agents": [{"id": "clerk", "agent_type": "openai", "tools": ["pub"]}], "tools": TOOLS[:1],
               "workflows": {"w": {"steps": [{"id": "ask", "agent": "clerk", "input": "${user_input}",
                                              "output": {"to": "user"}}]}}}
        with Executor.local(settings=replace(s, store="memory")) as wfx:
            wfx.register(ON_ORDER)
            done = wfx.run(workflow=doc, input="file order 7")
            assert done.status == ExecutionStatus.COMPLETED, done.error
            assert done.result == "sent"
            offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
            assert offered == {"pub__publish_message", "pub__list_channels", "pub__get_broker_stats"}
            refused = [json.loads(m["content"]) for m in llm.requests[1]["messages"] if m["role"] == "tool"]
            assert refused[0]["error"]["code"] == "topic_not_allowed"
            [run] = _triggered(wfx, 1)
            assert run.result == 7
