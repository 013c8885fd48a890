"""Validation of tool names a document uses without declaring them: an agent's ``tools:`` name,
a ``tool:`` step, an ``mcp_call`` to ``local://<tool>``. Such a name is the registry's built-in
of that name (LangSwarm's auto-discovery), which must be able to run with the operator's settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..errors import Issue
from .model import Step, Tool, WorkflowDocument

ToolChecker = Callable[[Tool], str | None]
# The tool an undeclared name resolves to (the registry's built-in of that name), else None.
ToolDiscovery = Callable[[str], Tool | None]


def undeclared_tool(doc: WorkflowDocument, tid: str, path: str, agent: bool, discovery: ToolDiscovery | None,
                    checker: ToolChecker | None, source: str | None) -> Iterator[Issue]:
    """Findings for ``tid``, used at ``path`` but not declared: no built-in of that name is a
    warning for an agent (it runs without it) and an error for a ``tool:`` step; a built-in
    that cannot run with the current settings is an error."""
    found = discovery(tid) if discovery is not None else None
    declared = ", ".join(doc.tools) or "(none)"
    if found is None:
        if not agent:
            yield Issue(path, f"unknown tool '{tid}'", source, fix=f"define it under tools: or use one of: {declared}")
        elif discovery is not None:
            yield Issue(path, f"tool '{tid}' is not declared and is no built-in tool here: the agent runs without "
                        "it (as in LangSwarm)", source, severity="warning",
                        fix=f"declare it under tools: with its type, or remove it (declared: {declared})")
        return
    msg = checker(found) if checker is not None else None
    if msg:
        yield Issue(path, f"tool '{tid}' (the built-in '{found.type}', not declared here) cannot run: {msg}", source,
                    fix="declare the tool under tools: with the settings it needs, or remove it")


def local_tool(doc: WorkflowDocument, step: Step, path: str, discovery: ToolDiscovery,
               source: str | None) -> Iterator[Issue]:
    """``mcp_call`` to ``local://<tool>`` names a tool that is neither declared nor built in: the
    call answers ``success: false`` at run time, so a warning (the run goes on)."""
    if step.function is None or step.function.rsplit(".", 1)[-1] != "mcp_call":
        return
    url = step.args.get("mcp_url")
    if not isinstance(url, str) or not url.startswith("local://") or "${" in url:
        return
    server = url.removeprefix("local://").strip("/")
    if server in ("workflow_executor", "wfx") or server in doc.tools or discovery(server) is not None:
        return
    yield Issue(path, f"'{url}' names no tool this server has: the call answers success: false", source,
                severity="warning", fix="declare the tool under tools: with its type, or call one that exists "
                f"(declared: {', '.join(doc.tools) or 'none'})")
