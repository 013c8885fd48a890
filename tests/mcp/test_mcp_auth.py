"""API keys: 401 without a valid key, scopes, the workflow allow-list, callers isolated from
each other's executions, admin sees all; keys stored hashed; open mode only on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from wfx_mcp_support import Keys, Server, bearer
from workflow_executor.errors import InvalidArgument
from workflow_executor.mcp.auth import KeyRing, create_key
from workflow_executor.mcp.serve import serve
from workflow_executor.settings import Settings


def sc(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = result["structuredContent"]
    return out


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wfx_000000000000_" + "x" * 43},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": "nope"}])
def test_requests_without_a_valid_key_are_401_and_say_how_to_pass_one(keyed: tuple[Server, Keys],
                                                                      headers: dict[str, str]) -> None:
    srv, _ = keyed
    for method, path in (("POST", ""), ("GET", "schema"), ("DELETE", "")):
        r = srv.session.request(method, srv.url + path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                headers=headers, timeout=10)
        assert r.status_code == 401
        assert "Authorization: Bearer" in r.json()["error"]["data"]["fix"]


def test_healthz_needs_no_key(keyed: tuple[Server, Keys]) -> None:
    srv, _ = keyed
    assert srv.session.get(srv.url + "healthz", timeout=5).status_code == 200


def test_a_key_works_as_bearer_or_x_api_key(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    assert "result" in srv.rpc("tools/list", headers=bearer(keys.reader))
    assert "result" in srv.rpc("tools/list", headers={"X-API-Key": keys.reader})


def test_a_missing_scope_is_a_forbidden_tool_error_with_http_200(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    res = srv.tool("execute_workflow", bearer(keys.reader), workflow_name="echo", input_data={})
    assert res["isError"] is True
    assert sc(res)["code"] == "forbidden"
    res = srv.tool("generate_workflow", bearer(keys.other), workflow_description="a then b")
    assert sc(res)["code"] == "forbidden"


def test_the_allow_list_limits_execute_validate_and_get(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    h = bearer(keys.limited)
    assert srv.tool("execute_workflow", h, workflow_name="echo", input_data={"a": 1})["isError"] is False
    for name, args in (("execute_workflow", {"workflow_name": "five", "input_data": {}}),
                       ("validate_workflow", {"workflow_name": "five"}),
                       ("get_workflow", {"workflow_name": "five"}),
                       ("execute_workflow", {"workflow": {"workflows": {"x": {"steps": [
                           {"id": "a", "function": "builtins.noop"}]}}}, "input_data": {}})):
        res = srv.tool(name, h, **args)
        assert res["isError"] is True, (name, res)
        assert sc(res)["code"] == "forbidden"
    names = {w["name"] for w in sc(srv.tool("list_workflows", h))["available_workflows"]}
    assert names == {"echo"}


def test_callers_see_and_cancel_only_their_own_executions_and_admin_sees_all(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    alice, bob, admin = bearer(keys.runner), bearer(keys.other), bearer(keys.admin)
    mine = sc(srv.tool("execute_workflow", alice, workflow_name="slow", input_data={"seconds": 0.2},
                       execution_mode="async"))["execution_id"]
    assert sc(srv.tool("check_execution_status", alice, execution_id=mine))["execution_id"] == mine
    for tool in ("check_execution_status", "cancel_execution", "rerun_execution"):
        res = srv.tool(tool, bob, execution_id=mine)
        assert res["isError"] is True
        assert sc(res)["code"] == "not_found"
    assert srv.rpc("tasks/get", {"taskId": mine}, bob)["error"]["code"] == -32602
    assert mine not in {e["execution_id"] for e in sc(srv.tool("list_executions", bob, limit=200))["executions"]}
    assert mine in {e["execution_id"] for e in sc(srv.tool("list_executions", alice, limit=200))["executions"]}
    assert mine in {e["execution_id"] for e in sc(srv.tool("list_executions", admin, limit=200))["executions"]}
    assert sc(srv.tool("check_execution_status", admin, execution_id=mine))["execution_id"] == mine
    assert sc(srv.tool("cancel_execution", admin, execution_id=mine))["execution_id"] == mine


def test_keys_are_stored_as_salted_hashes_only(tmp_path: Path) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    key = create_key(settings, ["run", "read"], ["a", "b"], "ci")
    stored = json.loads((tmp_path / "keys.json").read_text())["keys"][0]
    assert key not in json.dumps(stored)
    assert key.split("_", 2)[2] not in json.dumps(stored)  # the secret part may itself hold "_"
    assert stored["scopes"] == ["read", "run"]
    assert stored["workflows"] == ["a", "b"]
    assert stored["name"] == "ci"
    assert len(stored["salt"]) == 32
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("scopes", "name"), [(["run", "root"], None), ([], None), (["run"], "bad name!")])
def test_create_key_rejects_unknown_scopes_and_bad_names(tmp_path: Path, scopes: list[str],
                                                         name: str | None) -> None:
    with pytest.raises(InvalidArgument):
        create_key(Settings.from_env({"WFX_HOME": str(tmp_path)}), scopes, None, name)


def test_keys_can_come_from_the_environment_as_json(tmp_path: Path) -> None:
    file_settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    key = create_key(file_settings, ["read"], None, "env-key")
    env_json = (tmp_path / "keys.json").read_text()
    ring = KeyRing(Settings.from_env({"WFX_HOME": str(tmp_path / "elsewhere"), "WFX_API_KEYS": env_json}))
    caller = ring.authenticate({"authorization": f"Bearer {key}"})
    assert caller is not None and caller.principal == "env-key" and caller.has("read") and not caller.has("run")
    assert ring.authenticate({"authorization": f"Bearer {key[:-1]}x"}) is None


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        serve(Settings.from_env({"WFX_HOME": str(tmp_path)}), "0.0.0.0", 0)


def test_open_mode_answers_loopback_hosts_only(server: Server) -> None:
    assert "result" in server.rpc("tools/list")
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Host": "mcp.example.com"})
    assert r.status_code == 401
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401


@pytest.mark.parametrize("host", ["127.attacker.example:4020", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_open_mode_refuses_hosts_that_only_look_like_loopback(server: Server, host: str) -> None:
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Host": host})
    assert r.status_code == 401


def test_open_mode_refuses_a_cross_site_page_but_not_a_loopback_one(server: Server) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert server.post(body, {"Origin": "https://evil.example"}).status_code == 403
    assert server.post(body, {"Origin": "http://127.0.0.1:6274"}).status_code == 200


def test_a_keys_file_that_turns_unreadable_denies_everyone_instead_of_opening(tmp_path: Path) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    key = create_key(settings, ["run"], None, "erin")
    ring = KeyRing(settings)
    assert ring.authenticate({"authorization": f"Bearer {key}"}) is not None
    assert settings.api_keys_file is not None
    settings.api_keys_file.write_text("{ not json")
    assert ring.configured is True
    assert ring.authenticate({"authorization": f"Bearer {key}"}) is None


def test_an_allow_listed_key_cannot_rewrite_its_workflow_with_an_override(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    steps = [{"id": "x", "invoke_workflow": "five"}]
    res = srv.tool("execute_workflow", bearer(keys.limited), workflow_name="echo", input_data={},
                   config_override={"workflows.echo.steps": steps})
    assert (res["isError"], sc(res)["code"], sc(res)["field"]) == (True, "forbidden", "config_override")


def test_generate_workflow_cannot_take_a_name_that_someone_else_owns(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    # 'echo' is defined by a file under the roots: nobody may shadow it by generating
    res = srv.tool("generate_workflow", bearer(keys.runner), workflow_description="a then b", workflow_name="echo")
    assert (res["isError"], sc(res)["code"]) == (True, "conflict")
    name = "gen_owned_by_alice"
    first = srv.tool("generate_workflow", bearer(keys.runner), workflow_description="a then b", workflow_name=name)
    assert first["isError"] is False, first
    again = srv.tool("generate_workflow", bearer(keys.runner), workflow_description="c then d", workflow_name=name)
    assert again["isError"] is False
    admin = srv.tool("generate_workflow", bearer(keys.admin), workflow_description="e then f", workflow_name=name)
    assert admin["isError"] is False
    # now the admin's: alice may no longer replace it
    late = srv.tool("generate_workflow", bearer(keys.runner), workflow_description="g then h", workflow_name=name)
    assert (late["isError"], sc(late)["code"]) == (True, "conflict")


def test_creating_a_key_never_overwrites_a_keys_file_it_cannot_read(tmp_path: Path) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    assert settings.api_keys_file is not None
    settings.api_keys_file.parent.mkdir(parents=True, exist_ok=True)
    settings.api_keys_file.write_text("{ damaged")
    with pytest.raises(InvalidArgument):
        create_key(settings, ["run"], None, "frank")
    assert settings.api_keys_file.read_text() == "{ damaged"


def test_keys_created_at_the_same_time_are_all_kept(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda i: create_key(settings, ["read"], None, f"k{i}"), range(16)))
    ring = KeyRing(settings)
    assert all(ring.authenticate({"authorization": f"Bearer {k}"}) is not None for k in keys)


def test_keys_from_a_fetched_source_are_re_read_so_a_revoked_key_stops_working(tmp_path: Path) -> None:
    # The key source here is a function over a file; in the cloud it reads Secret Manager.
    home = Settings.from_env({"WFX_HOME": str(tmp_path / "maker")})
    key = create_key(home, ["run"], None, "gina")
    assert home.api_keys_file is not None
    published = {"text": home.api_keys_file.read_text()}
    ring = KeyRing(Settings.from_env({"WFX_HOME": str(tmp_path / "server")}), lambda: published["text"], ttl_s=0)
    assert ring.authenticate({"authorization": f"Bearer {key}"}) is not None
    published["text"] = json.dumps({"keys": []})  # revoked
    assert ring.authenticate({"authorization": f"Bearer {key}"}) is None
    assert ring.configured is True  # an empty secret denies everyone; it never opens the server
