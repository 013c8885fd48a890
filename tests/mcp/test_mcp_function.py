"""The real Cloud Function entrypoint (functions/main.py ``mcp``) under functions-framework."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests
from wfx_mcp_support import WORKFLOWS, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def test_the_function_answers_a_tool_call_under_functions_framework(tmp_path: Path) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    port = free_port()
    exe = Path(sys.executable).with_name("functions-framework")
    env = {**os.environ, "WFX_HOME": str(tmp_path), "WFX_WORKFLOW_ROOTS": str(tmp_path / "workflows")}
    env.pop("WFX_API_KEYS", None)
    with (tmp_path / "function.log").open("wb") as log:
        proc = subprocess.Popen([str(exe), "--target", "mcp", "--source", str(ROOT / "functions" / "main.py"),
                                 "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_ready(url, proc)
        with requests.post(url, json={"method": "tools/call", "id": "call-1", "params": {
                "name": "execute_workflow", "arguments": {"workflow_name": "five", "input_data": {"f": 1}}}},
                headers={"Accept": "*/*"}, timeout=30) as r:
            assert r.status_code == 200
            result = r.json()["result"]
        assert result["isError"] is False
        assert result["structuredContent"]["result"] == {"f": 1}
        with requests.get(url, timeout=10) as r:
            assert r.status_code == 405
        eid = result["structuredContent"]["execution_id"]
        with requests.get(f"{url}ui/api/executions/{eid}", timeout=30) as r:  # the web view, same handler
            assert r.status_code == 200 and f'data-id="{eid}"' in r.text
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        with requests.get(f"{url}ui/api/executions/{eid}/events", timeout=30, stream=True) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            assert "event: end" in r.text
    finally:
        stop(proc)


def test_a_cold_function_does_not_load_the_generator_before_a_tool_asks_for_it() -> None:
    probe = ("import sys; sys.path.insert(0, 'functions'); import main; import workflow_executor.mcp.http; "
             "print([m for m in sys.modules if m.startswith('workflow_executor.generator')])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "shared")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
