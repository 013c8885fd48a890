"""The ``workflow_executor`` meta-tool keeps every limit of the key that started the run (issue 18,
item 1): a key limited to some workflows runs an operator workflow whose meta-tool call names a
forbidden stored workflow (from the input), an inline document, a generation and a listing; the
one gate refuses each of them, from a ``tool:`` step and from an agent's tool call alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llm_server import LLMServer
from wfx_mcp_support import Server, bearer, start_server, stop

WFX_TOOL = "tools: [{id: wfx, type: workflow_executor}]\n"
FILES = {
    "secret.yaml": "workflows: {secret: {steps: [{id: s, function: builtins.echo, args: {value: TOP SECRET}}]}}\n",
    "by_name.yaml": WFX_TOOL + "workflows: {by_name: {steps: [{id: call, tool: wfx, params: {method: "
                    "execute_workflow, workflow_name: '${input.target}'}, output: {to: user}}]}}\n",
    "inline.yaml": WFX_TOOL + "workflows: {inline: {steps: [{id: call, tool: wfx, params: {method: execute_workflow, "
                   "workflow: {workflows: {x: {steps: [{id: s, function: builtins.echo, args: {value: inline ran}}]}}}"
                   "}, output: {to: user}}]}}\n",
    "gen.yaml": WFX_TOOL + "workflows: {gen: {steps: [{id: call, tool: wfx, params: {method: generate_workflow, "
                "workflow_description: 'Summarise the text'}, output: {to: user}}]}}\n",
    "lister.yaml": WFX_TOOL + "workflows: {lister: {steps: [{id: call, tool: wfx, params: {method: list_workflows},"
                   " output: {to: user}}]}}\n",
    "asker.yaml": "agents: [{id: boss, agent_type: openai, tools: [wfx]}]\n" + WFX_TOOL
                  + "workflows: {asker: {steps: [{id: ask, agent: boss, input: '${user_input}', "
                    "output: {to: user}}]}}\n",
}
LIMITED_TO = ["by_name", "inline", "gen", "lister", "asker"]


def _serve(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[Server, str, str]:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    roots = tmp_path / "workflows"
    roots.mkdir(parents=True)
    for name, text in FILES.items():
        (roots / name).write_text(text)
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    limited = create_key(settings, ["run", "read"], LIMITED_TO, "dave")
    full = create_key(settings, ["run", "read", "generate"], None, "alice")
    srv = start_server(tmp_path, env)
    # the operator's secret workflow is registered (a full key ran it once)
    assert srv.tool("execute_workflow", bearer(full), workflow_name="secret", input_data={})["isError"] is False
    return srv, limited, full


def _close(srv: Server) -> None:
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)


def _run(srv: Server, key: str, name: str, input_data: Any) -> dict[str, Any]:
    res = srv.tool("execute_workflow", bearer(key), workflow_name=name, input_data=input_data)
    sc: dict[str, Any] = res["structuredContent"]
    return sc


def test_a_limited_key_cannot_reach_any_workflow_through_the_meta_tool_step(tmp_path: Path) -> None:
    srv, limited, full = _serve(tmp_path)
    try:
        got = _run(srv, limited, "by_name", {"target": "secret"})
        assert got["status"] == "failed" and "TOP SECRET" not in json.dumps(got), got
        assert got["error"]["code"] == "forbidden", got
        # the same workflow, for a key that may use 'secret', reaches it
        assert _run(srv, full, "by_name", {"target": "secret"})["result"]["result"] == "TOP SECRET"

        inline = _run(srv, limited, "inline", {})
        assert inline["status"] == "failed" and inline["error"]["code"] == "forbidden", inline
        assert inline.get("result") is None  # the child never ran (its text shows only as the step's input)

        gen = _run(srv, limited, "gen", {})
        assert gen["status"] == "failed" and gen["error"]["code"] == "forbidden", gen
        assert "'generate' scope" in gen["error"]["message"]

        listed = _run(srv, limited, "lister", {})
        names = {w["name"] for w in listed["result"]["workflows"]}
        assert "secret" not in names and "lister" in names, names
        assert "secret" in {w["name"] for w in _run(srv, full, "lister", {})["result"]["workflows"]}
    finally:
        _close(srv)


def test_a_limited_key_cannot_reach_a_forbidden_workflow_through_an_agents_tool_call(tmp_path: Path) -> None:
    with LLMServer() as llm:
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"}
        srv, limited, _full = _serve(tmp_path, env)
        try:
            llm.script({"tool_calls": [{"name": "wfx__execute_workflow", "arguments": {"workflow_name": "secret"}}]},
                       {"tool_calls": [{"name": "wfx__list_workflows", "arguments": {}}]},
                       "done")
            got = _run(srv, limited, "asker", {"user_input": "run secret"})
            assert got["status"] == "completed", got
            tool_msgs = [m["content"] for m in llm.requests[-1]["messages"] if m["role"] == "tool"]
            assert len(tool_msgs) == 2 and "TOP SECRET" not in "".join(tool_msgs)
            assert json.loads(tool_msgs[0])["error"]["code"] == "forbidden", tool_msgs[0]
            assert "secret" not in {w["name"] for w in json.loads(tool_msgs[1])["workflows"]}
        finally:
            _close(srv)
