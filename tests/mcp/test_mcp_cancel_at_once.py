"""Cancel moves the task to ``cancelled`` before it answers (MCP 2025-11-25 tasks/cancel: the
server MUST), also while a step is running; that step's result is discarded and the execution
never changes again. The same for the ``cancel_execution`` tool."""

from __future__ import annotations

from typing import Any

import mcp.types as types
from wfx_mcp_support import Server, eventually


def running_in_step(server: Server, eid: str) -> None:
    def started() -> bool:
        sc: dict[str, Any] = server.tool("check_execution_status", execution_id=eid)["structuredContent"]
        return sc["status"] == "running"
    eventually(started)


def test_tasks_cancel_answers_cancelled_while_a_step_still_runs(server: Server) -> None:
    created = server.rpc("tools/call", {"name": "execute_workflow", "task": {"ttl": 60000}, "arguments": {
        "workflow_name": "slow", "input_data": {"seconds": 1.5}}})
    tid = created["result"]["task"]["taskId"]
    running_in_step(server, tid)
    answer = types.CancelTaskResult.model_validate(server.rpc("tasks/cancel", {"taskId": tid})["result"])
    assert answer.status == "cancelled"
    assert server.rpc("tasks/get", {"taskId": tid})["result"]["status"] == "cancelled"


def test_cancel_execution_answers_cancelled_while_a_step_still_runs(server: Server) -> None:
    eid = server.tool("execute_workflow", workflow_name="slow", input_data={"seconds": 0.5},
                      execution_mode="async")["structuredContent"]["execution_id"]
    running_in_step(server, eid)
    assert server.tool("cancel_execution", execution_id=eid)["structuredContent"]["status"] == "cancelled"
    assert server.tool("check_execution_status", execution_id=eid)["structuredContent"]["status"] == "cancelled"
