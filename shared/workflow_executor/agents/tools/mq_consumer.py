"""``message_queue_consumer`` (LangSwarm: ``mcpmessage_queue_consumer``): consumers of
subscriptions the operator allowed (WFX_MQ_SUBSCRIPTIONS), kept per caller. No worker runs in
the background here: a running consumer hands its messages to the workflow (``consume_messages``);
to start a workflow for every message, give that workflow a trigger on the topic."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import Field

from ...errors import Conflict, InvalidArgument, NotFound, SubscriptionNotAllowed
from ...ports_tools import QueueMessage
from ...settings_tools import ToolSettings
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv
from .scoped import owner_of, queue_of, records_of

KIND_CONSUMER = "mq_consumer"
MAX_CONSUMERS = 50
MAX_WAIT_S = 20.0


class ConsumerIdArgs(ToolArgs):
    consumer_id: str = Field(..., min_length=1, max_length=100, description="the consumer's name")


class StartArgs(ConsumerIdArgs):
    queue_name: str = Field(..., min_length=1, max_length=255, description="an allowed subscription")
    broker_type: str | None = Field(None, description="ignored: the operator chooses the broker")
    broker_config: dict[str, Any] = Field(default_factory=dict,
                                          description="must be empty: the operator configures the broker")
    max_workers: int = Field(5, ge=1, le=100)
    poll_interval: int = Field(1, ge=0, le=3600)
    retry_attempts: int = Field(3, ge=0, le=100)
    task_timeout: int = Field(300, ge=1, le=86_400)


class StopArgs(ConsumerIdArgs):
    graceful: bool = True


class ListArgs(ToolArgs):
    include_stats: bool = True


class ConsumeArgs(ConsumerIdArgs):
    max_messages: int = Field(10, ge=1, le=100, description="at most this many messages")
    wait_s: float = Field(2.0, ge=0, le=MAX_WAIT_S, description="how long to wait for the first message")


def check_subscription(settings: ToolSettings, name: str) -> None:
    """Errors: SubscriptionNotAllowed unless the operator listed ``name`` in WFX_MQ_SUBSCRIPTIONS."""
    allowed = [s for s, _ in settings.mq_subscriptions]
    if name not in allowed:
        raise SubscriptionNotAllowed(
            f"subscription '{name[:100]}' is not one this server lets workflows read",
            fix=f"use an allowed subscription ({', '.join(allowed[:20]) or 'none'}); the operator lists them in "
                "WFX_MQ_SUBSCRIPTIONS", field="queue_name")


def _view(m: QueueMessage) -> dict[str, Any]:
    try:
        data: Any = json.loads(m.data)
    except ValueError:
        data = m.data.decode("utf-8", "replace")
    return {"message_id": m.id, "data": data, "attributes": m.attributes, "published_at_s": m.published_at_s}


def _stats(c: dict[str, Any], backend: str) -> dict[str, Any]:
    return {"consumer_id": c["consumer_id"], "status": c["status"], "tasks_processed": c["tasks_processed"],
            "tasks_failed": c["tasks_failed"], "average_processing_time": 0.0,
            "uptime": max(time.time() - c["started_at_s"], 0.0), "current_workers": 0,
            "queue_info": {"queue_name": c["queue_name"], "broker_type": backend}}


def _check(tool: Tool, env: ToolEnv) -> str | None:
    if not env.settings.mq_subscriptions:
        return (f"tool '{tool.id}' (message_queue_consumer) can read no subscription: the operator allows "
                "them with WFX_MQ_SUBSCRIPTIONS=name=topic,other")
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    settings = env.settings

    def stored(ctx: ToolCall, consumer_id: str) -> dict[str, Any]:
        found = records_of(env, tool.id).get(owner_of(ctx), KIND_CONSUMER, consumer_id)
        if found is None:
            raise NotFound(f"consumer '{consumer_id[:100]}' does not exist",
                           fix="start it with start_consumer; list_consumers shows yours")
        return found

    def set_status(ctx: ToolCall, consumer_id: str, status: str) -> dict[str, Any]:
        c = stored(ctx, consumer_id)
        c["status"] = status
        records_of(env, tool.id).put(owner_of(ctx), KIND_CONSUMER, consumer_id, c)
        return {"consumer_id": consumer_id, "status": status, "message": f"Consumer '{consumer_id}' {status}"}

    def start_consumer(a: StartArgs, ctx: ToolCall) -> Any:
        if a.broker_config:
            raise InvalidArgument("broker_config cannot be set by a workflow: the operator configures the broker",
                                  fix="leave broker_config out and name an allowed subscription in queue_name",
                                  field="broker_config")
        check_subscription(settings, a.queue_name)
        records, owner = records_of(env, tool.id), owner_of(ctx)
        if len(records.list(owner, KIND_CONSUMER, MAX_CONSUMERS)) >= MAX_CONSUMERS:
            raise Conflict(f"this caller already has {MAX_CONSUMERS} consumers", fix="stop some with stop_consumer")
        c = {"consumer_id": a.consumer_id, "queue_name": a.queue_name, "status": "running", "tasks_processed": 0,
             "tasks_failed": 0, "started_at_s": time.time(), "max_workers": a.max_workers,
             "poll_interval": a.poll_interval, "retry_attempts": a.retry_attempts, "task_timeout": a.task_timeout}
        if not records.insert(owner, KIND_CONSUMER, a.consumer_id, c):
            raise Conflict(f"consumer '{a.consumer_id[:100]}' already exists",
                           fix="use another consumer_id, or stop_consumer it first")
        backend = queue_of(env, tool.id).backend
        return {"consumer_id": a.consumer_id, "status": "running", "message": f"Consumer '{a.consumer_id}' started",
                "broker_info": {"broker_type": backend, "queue_name": a.queue_name}}

    def stop_consumer(a: StopArgs, ctx: ToolCall) -> Any:
        c = stored(ctx, a.consumer_id)
        records_of(env, tool.id).delete(owner_of(ctx), KIND_CONSUMER, a.consumer_id)
        return {"consumer_id": a.consumer_id, "status": "stopped", "tasks_completed": c["tasks_processed"],
                "message": f"Consumer '{a.consumer_id}' stopped"}

    def list_consumers(a: ListArgs, ctx: ToolCall) -> Any:
        found = records_of(env, tool.id).list(owner_of(ctx), KIND_CONSUMER, MAX_CONSUMERS)
        backend = queue_of(env, tool.id).backend
        items = [_stats(c, backend) if a.include_stats else {"consumer_id": c["consumer_id"], "status": c["status"]}
                 for c in found]
        return {"consumers": items, "total_consumers": len(items),
                "total_tasks_processed": sum(c["tasks_processed"] for c in found)}

    def get_consumer_stats(a: ConsumerIdArgs, ctx: ToolCall) -> Any:
        return _stats(stored(ctx, a.consumer_id), queue_of(env, tool.id).backend)

    def pause_consumer(a: ConsumerIdArgs, ctx: ToolCall) -> Any:
        return set_status(ctx, a.consumer_id, "paused")

    def resume_consumer(a: ConsumerIdArgs, ctx: ToolCall) -> Any:
        return set_status(ctx, a.consumer_id, "running")

    def consume_messages(a: ConsumeArgs, ctx: ToolCall) -> Any:
        c = stored(ctx, a.consumer_id)
        if c["status"] != "running":
            return {"consumer_id": a.consumer_id, "status": c["status"], "messages": [], "count": 0}
        check_subscription(settings, c["queue_name"])  # the operator may have withdrawn it since
        wait = a.wait_s if ctx.deadline_s is None else max(min(a.wait_s, ctx.deadline_s - time.monotonic()), 0.0)
        got = queue_of(env, tool.id).pull(c["queue_name"], a.max_messages, wait)
        if got:
            c["tasks_processed"] += len(got)
            records_of(env, tool.id).put(owner_of(ctx), KIND_CONSUMER, a.consumer_id, c)
        return {"consumer_id": a.consumer_id, "status": "running", "messages": [_view(m) for m in got],
                "count": len(got)}

    return [
        Operation("start_consumer", "Start a consumer of an allowed subscription (queue_name).", StartArgs,
                  start_consumer),
        Operation("consume_messages", "Take up to max_messages messages from a running consumer's subscription "
                  "(they are acknowledged).", ConsumeArgs, consume_messages),
        Operation("stop_consumer", "Stop a consumer.", StopArgs, stop_consumer),
        Operation("list_consumers", "Your consumers, with their statistics.", ListArgs, list_consumers),
        Operation("get_consumer_stats", "One consumer's statistics.", ConsumerIdArgs, get_consumer_stats),
        Operation("pause_consumer", "Pause a consumer (consume_messages then returns nothing).", ConsumerIdArgs,
                  pause_consumer),
        Operation("resume_consumer", "Resume a paused consumer.", ConsumerIdArgs, resume_consumer),
    ]


KIND = OperationsKind("message_queue_consumer", "consume messages of subscriptions the operator allows "
                      "(WFX_MQ_SUBSCRIPTIONS); Pub/Sub in the cloud, SQLite embedded", _operations,
                      aliases=("mcpmessage_queue_consumer", "mq_consumer"), check=_check)
