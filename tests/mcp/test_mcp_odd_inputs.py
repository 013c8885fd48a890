"""Odd inputs get clear answers, never an HTML 500 or -32603: a lone surrogate in a JSON-RPC id,
one bad file under the roots (a 5000-digit integer) that must not break lookups for everyone,
``!!binary`` and over-long integers in inline documents; ``write_text`` results and file errors
never show the server's absolute paths; a foreign ``Origin`` gets 403 even with a valid key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wfx_mcp_support import Server, bearer, start_server, stop

BIG = "9" * 5000


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    home = tmp_path_factory.mktemp("odd")
    (home / "workflows").mkdir()
    (home / "workflows" / "big.yaml").write_text(
        f"workflows: {{big: {{steps: [{{id: a, function: builtins.echo, args: {{value: {BIG}}}}}]}}}}\n")
    (home / "workflows" / "fine.yaml").write_text("workflows: {fine: {steps: [{id: a, function: builtins.noop}]}}\n")
    key = create_key(Settings.from_env({"WFX_HOME": str(home)}), ["run", "read"], None, "odd")
    srv = start_server(home)
    srv.headers = bearer(key)
    yield srv, key
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)


def call(srv: Server, name: str, **arguments: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": name, "arguments": arguments}}).encode()
    resp = srv.post(None, raw=body)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json"), resp.text
    data: dict[str, Any] = resp.json()
    assert "result" in data, data  # an isError result, not -32603
    return data["result"]


def test_a_lone_surrogate_in_the_id_gets_a_json_answer(odd: tuple[Server, str]) -> None:
    srv, _ = odd
    resp = srv.post(None, raw=b'{"jsonrpc":"2.0","id":"\\udc80","method":"ping"}')
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    assert resp.json()["result"] == {} or "result" in resp.json()


def test_one_bad_file_under_the_roots_does_not_break_lookups_or_listing(odd: tuple[Server, str]) -> None:
    srv, _ = odd
    assert call(srv, "execute_workflow", workflow_name="fine", input_data={})["isError"] is False
    missing = call(srv, "execute_workflow", workflow_name="nosuch", input_data={})
    assert missing["isError"] is True and missing["structuredContent"]["code"] == "not_found"
    listed = call(srv, "list_workflows")
    assert listed["isError"] is False
    assert "fine" in json.dumps(listed["structuredContent"])
    bad = call(srv, "execute_workflow", workflow_name="big", input_data={})
    assert bad["isError"] is True


@pytest.mark.parametrize("doc", [
    'workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: !!binary "/w=="}}]}}',
    f"workflows: {{w: {{steps: [{{id: a, function: builtins.echo, args: {{value: {BIG}}}}}]}}}}",
])
def test_odd_inline_documents_are_is_error_results(odd: tuple[Server, str], doc: str) -> None:
    srv, _ = odd
    res = call(srv, "execute_workflow", workflow=doc, input_data={})
    assert res["isError"] is True and res["structuredContent"]["code"] == "invalid_workflow"


def test_file_results_and_file_errors_show_no_server_paths(odd: tuple[Server, str]) -> None:
    srv, _ = odd
    wrote = call(srv, "execute_workflow", input_data={}, workflow=(
        "workflows: {w: {steps: [{id: a, function: builtins.write_text, args: {path: out/x.txt, text: hi}}]}}"))
    assert wrote["structuredContent"]["result"] == {"path": "out/x.txt", "bytes": 2}
    missing = call(srv, "execute_workflow", input_data={}, workflow=(
        "workflows: {w: {steps: [{id: a, function: builtins.profile_csv, args: {path: nope.csv}}]}}"))
    text = json.dumps(missing)
    assert missing["isError"] is True and "nope.csv" in text
    assert str(srv.home) not in text and str(Path(srv.home).resolve()) not in text


def test_a_foreign_origin_gets_403_even_with_a_valid_key(odd: tuple[Server, str]) -> None:
    srv, _ = odd
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert srv.post(body, {"Origin": "https://evil.example"}).status_code == 403
    assert srv.post(body, {"Origin": "http://127.0.0.1:6274"}).status_code == 200
    assert srv.post(body).status_code == 200


@pytest.mark.parametrize("damage", [b"this is not a database at all" * 200, b"SQLite format 3\x00" + b"\x00" * 50])
def test_a_corrupt_database_gives_a_clear_message_at_start_and_is_left_alone(tmp_path: Path, damage: bytes) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "wfx.db").write_bytes(damage)
    env = {k: v for k, v in os.environ.items() if k != "WFX_API_KEYS"}
    out = subprocess.run([sys.executable, "-m", "workflow_executor.mcp.serve", "--port", "0"],
                         env={**env, "WFX_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "wfx.db cannot be opened" in out.stderr
    assert (tmp_path / "wfx.db").read_bytes() == damage
