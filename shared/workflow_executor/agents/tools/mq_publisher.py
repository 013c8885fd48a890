"""``message_queue_publisher`` (LangSwarm: ``mcpmessage_queue_publisher``): publish JSON messages
to topics the operator allowed (WFX_MQ_TOPICS) on Pub/Sub or the embedded SQLite queue. A topic
a workflow's trigger listens on starts that workflow, as any publish does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from ...errors import MessageTooLarge, TopicNotAllowed
from ...ports_tools import HOPS_ATTRIBUTE
from ...settings_tools import ToolSettings
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv
from .scoped import queue_of


class PublishArgs(ToolArgs):
    channel: str = Field(..., min_length=1, max_length=255, description="an allowed topic (see list_channels)")
    message: dict[str, Any] = Field(..., description="the message, a JSON object")
    metadata: dict[str, Any] | None = Field(None, description="added to the message as _metadata")
    broker_id: str | None = Field(None, description="ignored: the operator chooses the broker")


class StatsArgs(ToolArgs):
    broker_id: str | None = Field(None, description="ignored: the operator chooses the broker")


def check_topic(settings: ToolSettings, topic: str) -> None:
    """Errors: TopicNotAllowed unless the operator listed ``topic`` in WFX_MQ_TOPICS."""
    if topic not in settings.mq_topics:
        allowed = ", ".join(settings.mq_topics[:20]) or "none"
        raise TopicNotAllowed(f"topic '{topic[:100]}' is not one this server lets workflows publish to",
                              fix=f"use an allowed topic ({allowed}); the operator lists them in WFX_MQ_TOPICS",
                              field="channel")


def _check(tool: Tool, env: ToolEnv) -> str | None:
    if not env.settings.mq_topics:
        return (f"tool '{tool.id}' (message_queue_publisher) can publish to no topic: the operator allows "
                "them with WFX_MQ_TOPICS=name,other")
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    settings = env.settings

    def publish_message(a: PublishArgs, ctx: ToolCall) -> Any:
        check_topic(settings, a.channel)
        body = {**a.message, **({"_metadata": a.metadata} if a.metadata else {})}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        if len(data) > settings.mq_max_message_bytes:
            raise MessageTooLarge(f"the message is {len(data):,} bytes, over the limit of "
                                  f"{settings.mq_max_message_bytes:,}",
                                  fix="send less (a reference to the data, not the data); the operator sets "
                                      "WFX_MQ_MAX_MESSAGE_BYTES", field="message")
        queue = queue_of(env, tool.id)
        # one hop further than the run that publishes: a trigger refuses past WFX_TRIGGER_MAX_HOPS
        attributes = {"wfx_execution": ctx.execution_id, "wfx_step": ctx.step_id,
                      HOPS_ATTRIBUTE: str(ctx.trigger_hops + 1)}
        message_id = queue.publish(a.channel, data, attributes)
        return {"success": True, "channel": a.channel, "message_id": message_id,
                "timestamp": datetime.now(UTC).isoformat(), "broker_type": queue.backend, "error": None}

    def list_channels(a: StatsArgs, ctx: ToolCall) -> Any:
        return {"channels": list(settings.mq_topics), "broker_type": queue_of(env, tool.id).backend,
                "total_count": len(settings.mq_topics)}

    def get_broker_stats(a: StatsArgs, ctx: ToolCall) -> Any:
        backend = queue_of(env, tool.id).backend
        return {"broker_type": backend, "available": True,
                "stats": {"type": backend, "topics": len(settings.mq_topics),
                          "max_message_bytes": settings.mq_max_message_bytes}}

    return [
        Operation("publish_message", "Publish a JSON message to an allowed channel (topic).", PublishArgs,
                  publish_message),
        Operation("list_channels", "The channels (topics) this tool may publish to.", StatsArgs, list_channels),
        Operation("get_broker_stats", "Which broker is used, and its limits.", StatsArgs, get_broker_stats),
    ]


KIND = OperationsKind("message_queue_publisher", "publish messages to topics the operator allows (WFX_MQ_TOPICS); "
                      "Pub/Sub in the cloud, SQLite embedded", _operations,
                      aliases=("mcpmessage_queue_publisher", "mq_publisher"), check=_check)
