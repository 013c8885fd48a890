"""Crash test on real processes: `wfx serve` is killed with SIGKILL while an agent step waits for
its third model turn; the restarted server finishes the step, calling the model only for the turn
it never got, and running no tool twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from agent_fns import count
from llm_server import LLMServer
from support import eventually
from wfx_procs import ROOT, free_port
from workflow_executor.adapters.sqlite import SqliteExecutionStore

HERE = Path(__file__).parent


def start_serve(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"wfx serve exited with {proc.returncode}: {(home / 'serve.log').read_text()}")
        try:
            return requests.get(url + "healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    eventually(up, timeout=30, interval=0.05, what="wfx serve to answer")
    return proc, url


def kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=15)


def test_sigkill_during_the_third_turn_resumes_and_calls_the_model_only_for_unrecorded_turns(tmp_path: Path) -> None:
    log = str(tmp_path / "tools.log")
    workflow: dict[str, Any] = {
        "tools": [{"id": "mark", "type": "function", "function": "agent_fns.mark"}],
        "agents": [{"id": "a", "agent_type": "openai", "model": "gpt-4o-mini", "tools": ["mark"]}],
        "workflows": {"w": {"steps": [{"id": "ask", "agent": "a", "input": "${user_input}"}]}}}
    home = tmp_path / "home"
    with LLMServer.process() as llm:
        llm.script({"tool_calls": [{"name": "mark", "arguments": {"log": log, "name": "one"}}]},
                   {"tool_calls": [{"name": "mark", "arguments": {"log": log, "name": "two"}}]},
                   {"text": "never delivered", "delay_s": 60})
        env = {**os.environ, "WFX_HOME": str(home), "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test",
               "WFX_FUNCTION_MODULES": "agent_fns",
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        proc, url = start_serve(home, env)
        try:
            arguments = {"workflow": workflow, "input_data": {"user_input": "go"}, "execution_mode": "async"}
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "execute_workflow", "arguments": arguments}}
            answer = requests.post(url, json=body, timeout=30).json()
            execution_id = answer["result"]["structuredContent"]["execution_id"]
            eventually(lambda: len(llm.requests) >= 3, timeout=30, what="the third model turn")
        finally:
            kill_group(proc, signal.SIGKILL)
        store = SqliteExecutionStore(home / "wfx.db")
        try:
            journal = store.load_turns(execution_id, "ask@1")
            assert [t["kind"] for t in journal] == ["model", "tool", "model", "tool"]
            before = llm.requests
            assert len(before) == 3
            proc, url = start_serve(home, env)  # the embedded server resumes what a dead process held
            try:
                done = eventually(lambda: (e := store.get_head(execution_id)) is not None and e.finished and e,
                                  timeout=60, what="the resumed execution to finish")
            finally:
                kill_group(proc, signal.SIGTERM)
        finally:
            store.close()
        after = llm.requests
    assert done.status.value == "completed", done.error
    assert done.result == "reply to: go"
    assert len(after) == 4  # three turns before the kill, and only the one never answered after it
    assert after[3]["messages"] == before[2]["messages"]  # it resumed the same conversation
    assert count(log, "one") == 1 and count(log, "two") == 1  # no tool ran twice
    assert "Traceback" not in (home / "serve.log").read_text()
