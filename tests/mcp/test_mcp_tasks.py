"""MCP tasks over executions, in both shapes: the 2025-11-25 core (params.task,
CreateTaskResult, tasks/get|result|list|cancel) and the 2026-07-28 tasks extension (a claimed
``resultType: "task"`` result resolved by polling tasks/get). Shapes are judged by the SDK's
own types."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Literal

import anyio
import mcp.types as types
import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from pydantic import TypeAdapter
from wfx_mcp_support import WORKFLOWS, Server, eventually, start_server, stop
from workflow_executor.api import Executor
from workflow_executor.models import Execution, ExecutionMode
from workflow_executor.settings import Settings

EXT = "io.modelcontextprotocol/tasks"
SLOW = {"workflow_name": "slow", "input_data": {"seconds": 0.05}}


def legacy_task_call(server: Server, arguments: dict[str, Any], name: str = "execute_workflow") -> dict[str, Any]:
    """A task-augmented tools/call (the SDK client has no 2025-11-25 task requests, so this
    one goes out as raw JSON-RPC; everything else below goes through the SDK session)."""
    return server.rpc("tools/call", {"name": name, "arguments": arguments, "task": {"ttl": 60000}})


def test_a_legacy_task_is_created_stored_and_answered_with_its_result(server: Server) -> None:
    created = types.CreateTaskResult.model_validate(legacy_task_call(server, SLOW)["result"])
    tid = created.task.task_id
    assert created.task.status == "working"
    assert created.task.poll_interval
    # Durably stored before the answer: the very next tasks/get resolves.
    assert types.GetTaskResult.model_validate(server.rpc("tasks/get", {"taskId": tid})["result"]).task_id == tid

    async def follow() -> tuple[types.GetTaskResult, types.CallToolResult, types.ListTasksResult]:
        async with Client(server.url, mode="legacy") as client:
            s = client.session
            result = await s.send_request(types.GetTaskPayloadRequest(
                params=types.GetTaskPayloadRequestParams(task_id=tid)), TypeAdapter(types.CallToolResult))
            got = await s.send_request(types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=tid)),
                                       types.GetTaskResult)
            listed = await s.send_request(types.ListTasksRequest(), types.ListTasksResult)
            return got, result, listed

    got, result, listed = anyio.run(follow)
    assert result.is_error is False
    assert result.structured_content["result"] == SLOW["input_data"]
    assert result.meta is not None and result.meta["io.modelcontextprotocol/related-task"]["taskId"] == tid
    assert got.status == "completed"
    assert tid in {t.task_id for t in listed.tasks}


def test_a_legacy_task_of_a_failing_workflow_fails_with_an_error_result(server: Server) -> None:
    tid = legacy_task_call(server, {"workflow_name": "fail", "input_data": {}})["result"]["task"]["taskId"]
    result = types.CallToolResult.model_validate(server.rpc("tasks/result", {"taskId": tid})["result"])
    assert result.is_error is True
    assert result.structured_content["code"] == "step_failed"
    assert server.rpc("tasks/get", {"taskId": tid})["result"]["status"] == "failed"


def test_a_legacy_task_can_be_cancelled_and_then_not_again(server: Server) -> None:
    created = legacy_task_call(server, {"workflow_name": "slow", "input_data": {"seconds": 0.3}})
    tid = created["result"]["task"]["taskId"]
    cancelled = types.CancelTaskResult.model_validate(server.rpc("tasks/cancel", {"taskId": tid})["result"])
    assert cancelled.task_id == tid
    eventually(lambda: server.rpc("tasks/get", {"taskId": tid})["result"]["status"] == "cancelled")
    result = types.CallToolResult.model_validate(server.rpc("tasks/result", {"taskId": tid})["result"])
    assert result.is_error is True
    assert result.structured_content["status"] == "cancelled"
    assert server.rpc("tasks/cancel", {"taskId": tid})["error"]["code"] == -32602


def test_task_faults_are_protocol_errors(server: Server) -> None:
    assert server.rpc("tasks/get", {"taskId": "no-such-task"})["error"]["code"] == -32602
    assert server.rpc("tasks/get", {})["error"]["code"] == -32602
    assert legacy_task_call(server, {}, name="list_workflows")["error"]["code"] == -32601


def test_a_running_execution_reports_its_progress_step_by_step(server: Server) -> None:
    res = server.tool("execute_workflow", workflow_name="slow", input_data={"seconds": 0.1}, execution_mode="async")
    eid = res["structuredContent"]["execution_id"]

    def running() -> str | None:
        p: str = server.tool("check_execution_status", execution_id=eid)["structuredContent"]["progress"]
        return p if p.startswith("Running step ") and " of 10: s" in p and not p.startswith("Running step 1 ") \
            else None

    assert eventually(running)
    assert server.tool("cancel_execution", execution_id=eid)["structuredContent"]["cancelled"] is True


def test_async_mode_without_a_task_answers_an_execution_id_to_poll(server: Server) -> None:
    res = server.tool("execute_workflow", workflow_name="five", input_data={"k": 2}, execution_mode="async")
    assert res["isError"] is False
    eid = res["structuredContent"]["execution_id"]
    assert res["structuredContent"]["status"] in ("queued", "running", "completed")

    def done() -> dict[str, Any] | None:
        sc: dict[str, Any] = server.tool("check_execution_status", execution_id=eid)["structuredContent"]
        return sc if sc["status"] == "completed" else None

    assert eventually(done)["result"] == {"k": 2}


class CreateTask(types.Result):
    """The 2026-07-28 extension's CreateTaskResult (the SDK has no type for it)."""

    result_type: Literal["task"]
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None


class GetTask(types.Request[types.GetTaskRequestParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: types.GetTaskRequestParams
    name_param = "taskId"  # the extension requires Mcp-Name: <taskId>


class CancelTask(types.Request[types.CancelTaskRequestParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: types.CancelTaskRequestParams
    name_param = "taskId"


class TasksExtension(ClientExtension):
    """A minimal client side of the extension: claim ``resultType: "task"``, poll tasks/get."""

    identifier = EXT

    def __init__(self) -> None:
        self.created: list[CreateTask] = []
        self.polled: list[str] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTask, resolve=self.resolve)]

    async def resolve(self, created: CreateTask, ctx: ClaimContext) -> types.CallToolResult:
        self.created.append(created)
        with anyio.fail_after(20):
            while True:
                raw = await ctx.session.send_request(
                    GetTask(params=types.GetTaskRequestParams(task_id=created.task_id)), TypeAdapter(dict[str, Any]))
                self.polled.append(raw["status"])
                assert raw["resultType"] == "complete"
                if raw["status"] != "working":
                    return types.CallToolResult.model_validate(raw["result"])
                await anyio.sleep(0.02)


def test_a_modern_client_with_the_tasks_extension_gets_a_task_and_its_result(server: Server) -> None:
    ext = TasksExtension()

    async def run() -> tuple[types.CallToolResult, types.CallToolResult]:
        async with Client(server.url, extensions=[ext]) as client:
            assert client.protocol_version == "2026-07-28"
            as_task = await client.call_tool("execute_workflow", {**SLOW, "execution_mode": "async"})
            failed = await client.call_tool("execute_workflow", {"workflow_name": "fail", "input_data": {},
                                                                 "execution_mode": "async"})
            return as_task, failed

    ok, failed = anyio.run(run)
    assert len(ext.created) == 2
    assert ext.created[0].status == "working"
    assert ext.polled[-1] == "completed"
    assert ok.is_error is False
    assert ok.structured_content["result"] == SLOW["input_data"]
    # A failed workflow is a tool error, which the extension reports as a completed task.
    assert failed.is_error is True
    assert failed.structured_content["code"] == "step_failed"


def test_a_modern_task_can_be_cancelled(server: Server) -> None:
    ext = TasksExtension()

    async def run() -> tuple[dict[str, Any], str]:
        async with Client(server.url, extensions=[ext]) as client:
            created = await client.session.call_tool(
                "execute_workflow", {"workflow_name": "slow", "input_data": {"seconds": 0.3},
                                     "execution_mode": "async"}, allow_claimed=True)
            assert isinstance(created, CreateTask)
            ack = await client.session.send_request(
                CancelTask(params=types.CancelTaskRequestParams(task_id=created.task_id)),
                TypeAdapter(dict[str, Any]))
            with anyio.fail_after(20):
                while True:
                    raw = await client.session.send_request(
                        GetTask(params=types.GetTaskRequestParams(task_id=created.task_id)),
                        TypeAdapter(dict[str, Any]))
                    if raw["status"] != "working":
                        return ack, raw["status"]
                    await anyio.sleep(0.05)

    ack, status = anyio.run(run)
    assert ack["resultType"] == "complete"
    assert status == "cancelled"


def test_modern_task_methods_need_the_extension_declared(server: Server) -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"taskId": "x", "_meta": meta}},
                    {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tasks/get", "Mcp-Name": "x"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32021


@pytest.mark.parametrize("method", ["tasks/result", "tasks/list"])
def test_core_only_task_methods_are_not_in_the_modern_extension(server: Server, method: str) -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {EXT: {}}}}
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"taskId": "x", "_meta": meta}},
                    {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method})
    assert r.json()["error"]["code"] == -32601


def test_a_modern_client_without_the_extension_gets_an_execution_id(server: Server) -> None:
    async def run() -> types.CallToolResult:
        async with Client(server.url) as client:
            return await client.call_tool("execute_workflow", {**SLOW, "execution_mode": "async"})

    res = anyio.run(run)
    assert res.is_error is False
    assert res.structured_content["execution_id"]


def test_serve_resumes_executions_a_previous_process_left_unfinished(tmp_path: Path) -> None:
    with Executor.local(settings=Settings.from_env({"WFX_HOME": str(tmp_path)})) as ex:
        stored = ex.register(WORKFLOWS / "echo.yaml")[0]
        now = time.time()
        eid = uuid.uuid4().hex
        ex.store.create(Execution(id=eid, workflow_name="echo", workflow_hash=stored.hash, mode=ExecutionMode.ASYNC,
                                  input={"resumed": True}, principal="local", created_at_s=now, updated_at_s=now))
    srv = start_server(tmp_path)
    try:
        def finished() -> dict[str, Any] | None:
            st: dict[str, Any] = srv.tool("check_execution_status", execution_id=eid)["structuredContent"]
            return st if st["status"] == "completed" else None

        assert eventually(finished)["result"] == {"resumed": True}
    finally:
        srv.session.close()
        assert srv.proc is not None
        stop(srv.proc)
