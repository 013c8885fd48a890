"""The sandbox, end to end: each way out — a ``..`` traversal, an absolute path and a symbolic
link on ``filesystem``, a host off the allow-list on ``http_request``, an ``mcp_url`` off the
allow-list on ``mcpremote`` — fails its workflow step with its own error code and a fix, and
shows no server path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tools_support import executor
from wfx_mcp_support import free_port
from workflow_executor.models import ExecutionStatus

CASES = {
    "traversal": ("files", {"method": "read_file", "path": "data/../../outside/secret.txt"}, "path_not_allowed"),
    "absolute": ("files", {"method": "read_file", "path": "{outside}/secret.txt"}, "path_not_allowed"),
    "symlink": ("files", {"method": "read_file", "path": "data/escape/secret.txt"}, "path_not_allowed"),
    "host": ("web", {"url": "http://127.0.0.1:{port}/"}, "host_not_allowed"),
    "mcp_url": ("remote", {"name": "anything", "arguments": {}}, "mcp_url_not_allowed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_way_out_fails_its_step_with_a_clear_code(tmp_path: Path, case: str) -> None:
    data, outside = tmp_path / "srv" / "data", tmp_path / "outside"
    data.mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    os.symlink(outside, data / "escape")
    port = free_port()
    tool, params, code = CASES[case]
    params = json.loads(json.dumps(params).replace("{outside}", str(outside)).replace("{port}", str(port)))
    doc = {"tools": [{"id": "files", "type": "filesystem"}, {"id": "web", "type": "http_request"},
                     {"id": "remote", "type": "mcpremote", "mcp_url": f"http://127.0.0.1:{port}/mcp"}],
           "workflows": {"w": {"steps": [{"id": "try", "tool": tool, "params": params}]}}}
    env = {"WFX_FS_ROOTS": f"data={data}", "WFX_HTTP_ALLOW": "api.example.com",
           "WFX_MCP_ALLOW": f"http://127.0.0.1:{port}/mcp"}
    with executor(tmp_path, env, memory=False) as wfx:
        wfx.register(doc)  # valid while the operator allows the URL ...
    if case == "mcp_url":
        env["WFX_MCP_ALLOW"] = "https://mcp.example.com/"  # ... and refused once it no longer does
    with executor(tmp_path, env, memory=False) as wfx:
        stored = wfx.workflow("w")
        done = wfx.run("w", stored=stored)
    assert done.status == ExecutionStatus.FAILED
    assert done.error is not None
    assert (done.error.code, done.error.step) == (code, "try")
    # what the tool answered (the step's own params, shown as its input, are the caller's text)
    shown = json.dumps([done.error.model_dump(mode="json"), done.steps["try"].error.model_dump(mode="json")
                        if done.steps["try"].error else None, done.result])
    assert str(tmp_path) not in shown and str(data) not in shown
    assert "top secret" not in json.dumps(done.model_dump(mode="json"))
