"""Each tool over real HTTP: results, isError codes and fields, the workflow roots, and that a
rejected call stores nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from wfx_mcp_support import Server, eventually


def sc(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = result["structuredContent"]
    return out


def inline(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"workflows": {name: {"steps": steps}}}


def test_a_generated_workflow_is_an_agent_workflow_stored_by_name(server: Server) -> None:
    name = f"gen_{uuid.uuid4().hex[:8]}"
    gen = server.tool("generate_workflow", workflow_description="Load the data. Then clean it; then report.",
                      workflow_name=name, complexity="simple")
    assert gen["isError"] is False
    out = sc(gen)
    assert (out["workflow_name"], out["validation_status"], out["generator"]) == (name, "valid", "template")
    assert out["version"] >= 1 and out["errors"] == []
    doc = out["workflow_config"]
    steps = doc["workflows"][name]["steps"]
    assert len(steps) == 3 and len({s["agent"] for s in steps}) == 2  # a task each, a simple one's two agents
    assert all(doc["agents"][s["agent"]]["system_prompt"] for s in steps)
    assert sc(server.tool("get_workflow", workflow_name=name))["workflow_name"] == name
    # this server has no model: the run says what to configure instead of echoing the task
    run = server.tool("execute_workflow", workflow_name=name, input_data={"rows": 3})
    assert (sc(run)["status"], sc(run)["code"]) == ("failed", "no_model_configured")


def test_execute_generated_workflow_generates_and_runs_in_one_call(server: Server) -> None:
    res = server.tool("execute_generated_workflow", workflow_description="fetch, then summarise",
                      input_data={"q": "x"})
    out = sc(res)
    assert (out["generator"], out["validation_status"]) == ("template", "valid")
    assert out["workflow_config"]["workflows"][out["workflow_name"]]["steps"]
    assert (res["isError"], out["status"], out["code"]) == (True, "failed", "no_model_configured")


def test_generation_that_does_not_validate_is_an_error_and_not_stored(server: Server) -> None:
    name = f"bad_{uuid.uuid4().hex[:8]}"
    res = server.tool("generate_workflow", workflow_description="one step", workflow_name=name,
                      agents_config={"writer": {"temperature": "hot"}})
    assert res["isError"] is True
    assert (sc(res)["code"], sc(res)["validation_status"]) == ("invalid_workflow", "invalid")
    assert sc(res)["errors"]
    assert sc(server.tool("get_workflow", workflow_name=name))["code"] == "not_found"


def test_generation_does_not_replace_a_hand_written_workflow(server: Server) -> None:
    server.tool("execute_workflow", workflow_name="echo", input_data={})
    res = server.tool("generate_workflow", workflow_description="overwrite it", workflow_name="echo")
    assert (res["isError"], sc(res)["code"], sc(res)["field"]) == (True, "conflict", "workflow_name")


def test_list_workflows_reads_the_roots_and_reports_unloadable_files(server: Server) -> None:
    top = sc(server.tool("list_workflows"))
    names = {w["name"] for w in top["available_workflows"]}
    assert {"five", "echo", "slow", "fail"} <= names
    assert "broken" not in names
    assert [s["file"] for s in top["skipped"]] == ["broken.yaml"]
    assert top["total_count"] == len(top["available_workflows"])
    five = next(w for w in top["available_workflows"] if w["name"] == "five")
    assert five["steps"] == 5
    assert "nested" in {w["name"] for w in sc(server.tool("list_workflows", pattern="**/*.yaml"))[
        "available_workflows"]}
    sub = sc(server.tool("list_workflows", config_path="sub"))["available_workflows"]
    assert [(w["name"], w["file"]) for w in sub] == [("nested", "sub/nested.yaml")]


@pytest.mark.parametrize(("args", "field"), [
    ({"config_path": ".."}, "config_path"),
    ({"config_path": "sub/../../.."}, "config_path"),
    ({"config_path": "/etc"}, "config_path"),
    ({"config_path": "escape"}, "config_path"),
    ({"pattern": "../*.yaml"}, "pattern"),
    ({"pattern": "/etc/*"}, "pattern"),
])
def test_config_path_and_pattern_cannot_leave_the_roots(server: Server, tmp_path: Path, args: dict[str, Any],
                                                        field: str) -> None:
    link = server.home / "workflows" / "escape"
    if not link.exists():
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.yaml").write_text("workflows: {secret: {steps: [{id: a, function: builtins.noop}]}}")
        link.symlink_to(outside, target_is_directory=True)
    res = server.tool("list_workflows", **args)
    assert res["isError"] is True
    assert (sc(res)["code"], sc(res)["field"]) == ("invalid_argument", field)


def test_a_symlinked_file_that_leaves_the_root_is_not_listed_or_run(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text("workflows: {elsewhere: {steps: [{id: a, function: builtins.noop}]}}")
    (server.home / "workflows" / "elsewhere.yaml").symlink_to(target)
    assert "elsewhere" not in {w["name"] for w in sc(server.tool("list_workflows"))["available_workflows"]}
    res = server.tool("execute_workflow", workflow_name="elsewhere.yaml", input_data={})
    assert sc(res)["code"] == "not_found"


def test_a_workflow_file_path_under_a_root_runs(server: Server) -> None:
    res = server.tool("execute_workflow", workflow_name="sub/nested.yaml", input_data={})
    assert (sc(res)["workflow_name"], sc(res)["result"]) == ("nested", "nested")


def test_validate_workflow_reports_errors_with_paths_and_accepts_yaml_text(server: Server) -> None:
    ok = sc(server.tool("validate_workflow", workflow="workflows:\n  v:\n    steps:\n"
                                                      "      - {id: a, function: builtins.noop}\n"))
    assert (ok["valid"], ok["errors"]) == (True, [])
    bad = sc(server.tool("validate_workflow", workflow=inline("v", [{"id": "a", "function": "os.system"}])))
    assert bad["valid"] is False
    assert bad["errors"][0]["path"] == "workflows.v.steps[0].function"
    assert sc(server.tool("validate_workflow", workflow_name="five"))["valid"] is True
    neither = server.tool("validate_workflow")
    assert (neither["isError"], sc(neither)["code"]) == (True, "invalid_argument")


def test_list_executions_pages_with_a_cursor_and_filters(server: Server) -> None:
    for _ in range(3):
        server.tool("execute_workflow", workflow_name="echo", input_data={})
    first = sc(server.tool("list_executions", workflow_name="echo", limit=2))
    assert first["count"] == 2 and first["next_cursor"]
    second = sc(server.tool("list_executions", workflow_name="echo", limit=2, cursor=first["next_cursor"]))
    assert not {e["execution_id"] for e in first["executions"]} & {e["execution_id"] for e in second["executions"]}
    failed = sc(server.tool("list_executions", status="failed"))["executions"]
    assert all(e["status"] == "failed" for e in failed)
    assert sc(server.tool("list_executions", cursor="garbage!"))["code"] == "invalid_argument"


def test_get_workflow_returns_the_stored_definition(server: Server) -> None:
    res = sc(server.tool("get_workflow", workflow_name="five"))
    assert [s["id"] for s in res["steps"]] == ["a", "b", "c", "d", "e"]
    assert res["hash"] and res["version"] >= 1


def test_rerun_execution_reuses_finished_steps_and_checks_from_step(server: Server) -> None:
    failed = sc(server.tool("execute_workflow", workflow_name="fail", input_data={}))
    again = server.tool("rerun_execution", execution_id=failed["execution_id"])
    assert sc(again)["rerun_of"] == failed["execution_id"]
    assert sc(again)["status"] == "failed"
    bad = server.tool("rerun_execution", execution_id=failed["execution_id"], from_step="nope")
    assert (sc(bad)["code"], sc(bad)["field"]) == ("invalid_argument", "from_step")


def test_config_override_is_merged_and_validated_again(server: Server) -> None:
    # neither an inline workflow nor an override changes what the name means to other callers
    name = f"ov_{uuid.uuid4().hex[:8]}"
    doc = inline(name, [{"id": "first", "function": "builtins.noop"}])
    steps = [{"id": "other", "function": "builtins.echo", "args": {"value": "overridden"}}]
    res = server.tool("execute_workflow", workflow=doc, workflow_name=name, input_data={},
                      config_override={f"workflows.{name}.steps": steps})
    assert (sc(res)["status"], sc(res)["result"]) == ("completed", "overridden")
    res = server.tool("execute_workflow", workflow=doc, workflow_name=name, input_data={},
                      config_override={f"workflows.{name}.steps": "not a list"})
    assert (res["isError"], sc(res)["code"]) == (True, "invalid_workflow")
    unknown = server.tool("execute_workflow", workflow_name=name, input_data={})
    assert (unknown["isError"], sc(unknown)["code"]) == (True, "not_found")


def test_an_idempotency_key_returns_the_first_execution(server: Server) -> None:
    key = uuid.uuid4().hex
    a = sc(server.tool("execute_workflow", workflow_name="echo", input_data={"n": 1}, idempotency_key=key))
    b = sc(server.tool("execute_workflow", workflow_name="echo", input_data={"n": 1}, idempotency_key=key))
    assert a["execution_id"] == b["execution_id"]


def test_isolated_mode_answers_an_execution_id_that_completes(server: Server) -> None:
    res = sc(server.tool("execute_workflow", workflow_name="echo", input_data={"iso": 1},
                         execution_mode="isolated"))
    assert res["execution_mode"] == "isolated"

    def finished() -> dict[str, Any] | None:
        st = sc(server.tool("check_execution_status", execution_id=res["execution_id"]))
        return st if st["status"] in ("completed", "failed") else None

    assert eventually(finished, timeout=30)["result"] == {"iso": 1}


def test_cancelling_a_finished_execution_reports_it_unchanged(server: Server) -> None:
    done = sc(server.tool("execute_workflow", workflow_name="echo", input_data={}))
    res = sc(server.tool("cancel_execution", execution_id=done["execution_id"]))
    assert (res["cancelled"], res["status"]) == (False, "completed")


@pytest.mark.parametrize(("args", "code", "field"), [
    ({"workflow_name": "echo", "input_data": {}, "execution_mode": "later"}, "invalid_argument",
     "execution_mode"),
    ({"input_data": {}}, "invalid_argument", "workflow_name"),
    ({"workflow_name": "no_such_workflow", "input_data": {}}, "not_found", "workflow_name"),
    ({"workflow_name": "echo"}, "invalid_argument", "input_data"),
    ({"workflow_name": "echo", "input_data": {}, "timeout": 0}, "invalid_argument", "timeout"),
    ({"workflow_name": "echo", "input_data": {}, "surprise": 1}, "invalid_argument", "surprise"),
    ({"workflow": "workflows: [", "input_data": {}}, "invalid_workflow", "workflow"),
])
def test_a_rejected_execute_is_an_error_naming_the_field_and_stores_nothing(
        server: Server, args: dict[str, Any], code: str, field: str) -> None:
    before = server.executions_stored()
    res = server.tool("execute_workflow", **args)
    assert res["isError"] is True
    assert (sc(res)["code"], sc(res)["field"]) == (code, field)
    assert sc(res)["fix"]
    assert res["content"][0]["type"] == "text" and "\n" not in res["content"][0]["text"]
    assert server.executions_stored() == before


def test_list_executions_searches_by_time_id_prefix_and_error_words(server: Server) -> None:
    ok = sc(server.tool("execute_workflow", workflow_name="echo", input_data={}))["execution_id"]
    bad = sc(server.tool("execute_workflow", workflow_name="fail", input_data={}))["execution_id"]

    def ids(**search: Any) -> set[str]:
        out = sc(server.tool("list_executions", limit=200, **search))
        return {e["execution_id"] for e in out["executions"]}

    by_error = ids(error_text="PURPOSE failed", since="10m")
    assert bad in by_error and ok not in by_error
    assert ids(id_prefix=ok[:8]) == {ok}
    assert {ok, bad} <= ids(since="2000-01-01", until="2999-01-01T00:00Z")
    assert not ids(since="2999-01-01") and not ids(until="1999-12-31T23:59:59+01:00")
    wrong = sc(server.tool("list_executions", since="last tuesday"))
    assert (wrong["code"], wrong["field"]) == ("invalid_argument", "since")
    assert sc(server.tool("list_executions", since="2999-01-01", until="2000-01-01"))["code"] == "invalid_argument"
