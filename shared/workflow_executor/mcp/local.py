"""The engine's MCP bridge (``ports.McpBridge``): ``mcp_call`` steps reach our own MCP tools
in-process through the same method table as the HTTP handler, under the rights of the caller
that started the run (never more), the tools registry (``engine.tools``) for ``local://<tool>``,
and remote MCP servers for ``http(s)://`` URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..access import Caller, narrow
from ..errors import WfxError
from .app import app_for
from .results import ToolResult

if TYPE_CHECKING:
    from ..services import Services


class LocalMcp:
    """One per set of services; resolves the McpApp lazily (cold start stays cheap)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def local(self, run: Any, server: str, tool: str, arguments: Mapping[str, Any]) -> Any:
        if server in ("workflow_executor", "wfx"):
            return self._ours(run, tool, arguments)
        host = getattr(run.engine, "tools", None)
        if host is None:
            return _failure("not_available", f"local://{server}: this server has no tools registry",
                            "call our own tools with local://workflow_executor, or configure the tool")
        from ..agents.toolbox import ToolCall

        ctx = ToolCall(execution_id=run.ex.id, step_id="", principal=run.ex.principal, run=run,
                       trigger_hops=run.ex.trigger_hops)
        try:
            if not tool:
                box = host.toolbox([server], run.document)
                return {"success": True, "tools": [{"name": s.name, "description": s.description,
                                                    "inputSchema": dict(s.parameters)} for s in box.specs()]}
            run_tool = getattr(host, "run_tool", None)
            if run_tool is not None:  # the registry's own dispatch, as a tool: step would call it
                out = run_tool(server, {"method": tool, "params": dict(arguments)}, run.document, ctx)
            else:
                out = host.toolbox([server], run.document).call(tool, dict(arguments), ctx)
        except WfxError as exc:
            if exc.retryable:
                raise
            return _failure(exc.code, exc.message, exc.fix)
        return _success(out)

    def remote(self, run: Any, url: str, tool: str, arguments: Mapping[str, Any],
               headers: Mapping[str, str]) -> Any:
        from ..agents.tools.allow import check_mcp_url
        from ..agents.tools.mcp_client import McpHttpClient

        try:
            checked = check_mcp_url(url, self.services.settings.tools)  # the one URL check
        except WfxError as exc:
            return _failure(exc.code, exc.message, exc.fix)
        client = McpHttpClient(checked.text, headers={str(k): str(v) for k, v in headers.items()},
                               timeout_s=self.services.settings.tools.timeout_s)
        try:
            if not tool:
                return {"success": True, "tools": client.list_tools()}
            return _success(client.call_tool(tool, dict(arguments)))
        except WfxError as exc:
            if exc.retryable:
                raise  # 429/5xx/time-outs: the step's retry policy decides
            return _failure(exc.code, exc.message, exc.fix)
        finally:
            client.close()

    def _ours(self, run: Any, tool: str, arguments: Mapping[str, Any]) -> Any:
        from . import tools

        app = app_for(self.services)
        key = app.keys.caller_for(run.ex.principal)
        if key is None:
            return _failure("forbidden", f"the run's caller '{run.ex.principal}' has no key any more",
                            "start the run with a valid key")
        caller = narrow(key, Caller.of_run(run.ex))  # never more than the run was started with
        if not tool:
            return {"success": True, "tools": tools.listing(legacy_tasks=False)}
        if tool not in tools.TOOLS:
            return _failure("not_found", f"workflow_executor has no tool '{tool[:100]}'",
                            "use one of: " + ", ".join(tools.TOOLS))
        return _from_result(tools.call(app, caller, tool, arguments, as_task=False))


def _from_result(res: ToolResult) -> dict[str, Any]:
    if res.is_error:
        err = res.structured.get("error", res.structured)
        return {"success": False, "error": err}
    return {**res.structured, "success": True}


def _success(out: Any) -> Any:
    if isinstance(out, Mapping):
        return {**out, "success": out.get("success", True)}
    return {"result": out, "success": True}


def _failure(code: str, message: str, fix: str | None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "fix": fix}}
