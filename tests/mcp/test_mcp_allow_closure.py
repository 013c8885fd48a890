"""A key's workflow allow-list covers the whole closure of child workflows: a key allowed
``a`` and ``b``, where ``a`` invokes ``b`` and ``b`` invokes ``c``, cannot run ``c`` by running
``a`` - refused at submit time, and again by the engine as each child starts."""

from __future__ import annotations

from pathlib import Path

from wfx_mcp_support import bearer, start_server, stop

CHAIN = {
    "a.yaml": "workflows: {a: {steps: [{id: call_b, invoke_workflow: b, output: {to: user}}]}}\n",
    "b.yaml": "workflows: {b: {steps: [{id: call_c, invoke_workflow: c, output: {to: user}}]}}\n",
    "c.yaml": "workflows: {c: {steps: [{id: secret, function: builtins.echo, args: {value: ran c}}]}}\n",
}


def write_chain(roots: Path) -> None:
    roots.mkdir(parents=True, exist_ok=True)
    for name, text in CHAIN.items():
        (roots / name).write_text(text)


def test_a_grandchild_outside_the_allow_list_is_refused_at_submit(tmp_path: Path) -> None:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    write_chain(tmp_path / "workflows")
    key = create_key(Settings.from_env({"WFX_HOME": str(tmp_path)}), ["run", "read"], ["a", "b"], "limited")
    full = create_key(Settings.from_env({"WFX_HOME": str(tmp_path)}), ["run", "read"], None, "full")
    srv = start_server(tmp_path)
    try:
        for name in ("c", "b", "a"):  # everyone's names are registered by a caller who may use them
            assert srv.tool("execute_workflow", bearer(full), workflow_name=name, input_data={})["isError"] is False
        for name in ("a", "b"):
            res = srv.tool("execute_workflow", bearer(key), workflow_name=name, input_data={})
            assert res["isError"] is True, res
            sc = res["structuredContent"]
            assert sc["code"] == "forbidden" and "'c'" in sc["message"], sc
        assert srv.tool("execute_workflow", bearer(full), workflow_name="a", input_data={})["structuredContent"][
            "result"] == "ran c"
    finally:
        srv.session.close()
        assert srv.proc is not None
        stop(srv.proc)
