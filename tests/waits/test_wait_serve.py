"""Wait steps on a real ``wfx serve`` (its own process group, SQLite, API keys): MCP send_event by
the run's owner only, ``wfx send`` through --url and locally, and waits that outlive a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from support import eventually
from wfx_procs import ROOT, free_port, stop_group

WORKFLOWS = """
workflows:
  approve:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 600}
      - id: publish
        function: builtins.echo
        args: {value: "${approval.output}"}
  nap:
    steps:
      - id: rest
        sleep: 1.5
      - id: done
        function: builtins.echo
        args: {value: "rested"}
"""


@dataclass
class Serve:
    home: Path
    keys: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        port = free_port()
        env = {**os.environ, "WFX_HOME": str(self.home), "WFX_WORKFLOW_ROOTS": str(self.home / "wf")}
        env.pop("WFX_API_KEYS", None)
        with (self.home / "serve.log").open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "serve", "--port", str(port)],
                                         cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.url = f"http://127.0.0.1:{port}/"
        eventually(self._up, timeout=30, interval=0.05, what="wfx serve to answer")

    def _up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, "wfx serve exited"
        try:
            return requests.get(self.url + "healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def tool(self, who: str, name: str, **arguments: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex[:8], "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}
        resp = requests.post(self.url, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {self.keys[who]}"})
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()["result"]
        return result

    def wfx(self, *args: str, url: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "WFX_HOME": str(self.home)}
        env.pop("WFX_URL", None)
        head = ["--url", self.url, "--api-key", self.keys["alice"]] if url else []
        return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *head, *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    def status(self, execution_id: str) -> dict[str, Any]:
        res: dict[str, Any] = self.tool("alice", "check_execution_status", execution_id=execution_id)
        return res["structuredContent"]

    def started(self, workflow: str) -> str:
        res = self.tool("alice", "execute_workflow", workflow_name=workflow, input_data={}, execution_mode="async")
        assert res["isError"] is False, res
        return str(res["structuredContent"]["execution_id"])

    def reaches(self, execution_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        return eventually(lambda: (s := self.status(execution_id))["status"] == status and s, timeout=timeout,
                          what=f"{execution_id} to be {status}")


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    home = tmp_path_factory.mktemp("waits")
    (home / "wf").mkdir()
    (home / "wf" / "waits.yaml").write_text(WORKFLOWS)
    settings = Settings.from_env({"WFX_HOME": str(home)})
    keys = {"alice": create_key(settings, ["run", "read", "cancel"], None, "alice"),
            "bob": create_key(settings, ["run", "read", "cancel"], None, "bob"),
            "carol": create_key(settings, ["read"], None, "carol"),
            "root": create_key(settings, ["admin"], None, "root")}
    srv = Serve(home, keys)
    srv.start()
    yield srv
    if srv.proc is not None:
        stop_group(srv.proc)


def test_send_event_resumes_a_waiting_run_for_its_owner_and_refuses_others_and_repeats(serve: Serve) -> None:
    eid = serve.started("approve")
    shown = serve.reaches(eid, "waiting", timeout=2.0)  # within 2 s of the answer
    assert shown["waiting"]["event"] == "approval" and shown["waiting"]["until"] is not None
    assert shown["progress"].startswith("Waiting for event 'approval'")
    refused = serve.tool("bob", "send_event", execution_id=eid, event="approval", payload={"ok": True})
    assert (refused["isError"], refused["structuredContent"]["code"]) == (True, "not_found")
    refused = serve.tool("carol", "send_event", execution_id=eid, event="approval", payload={"ok": True})
    assert (refused["isError"], refused["structuredContent"]["code"]) == (True, "forbidden")
    sent = serve.tool("alice", "send_event", execution_id=eid, event="approval", payload={"ok": True})
    assert sent["isError"] is False and sent["structuredContent"]["delivered"] is True, sent
    done = serve.reaches(eid, "completed")
    assert done["result"] == {"ok": True}
    again = serve.tool("root", "send_event", execution_id=eid, event="approval", payload={"ok": True})
    assert (again["isError"], again["structuredContent"]["code"]) == (True, "already_delivered")


def test_a_waiting_run_is_an_input_required_task_and_cancels_while_it_waits(serve: Serve) -> None:
    eid = serve.started("approve")
    serve.reaches(eid, "waiting", timeout=2.0)
    body = {"jsonrpc": "2.0", "id": "t", "method": "tasks/get", "params": {"taskId": eid}}
    task = requests.post(serve.url, json=body, headers={"Authorization": f"Bearer {serve.keys['alice']}",
                                                        "MCP-Protocol-Version": "2025-11-25"}, timeout=30).json()
    assert task["result"]["status"] == "input_required", task
    res = serve.tool("alice", "cancel_execution", execution_id=eid)
    assert res["structuredContent"]["status"] == "cancelled", res
    late = serve.tool("alice", "send_event", execution_id=eid, event="approval", payload={})
    assert late["structuredContent"]["code"] == "not_waiting"


def test_wfx_send_resumes_waiting_runs_through_the_url_and_locally(serve: Serve) -> None:
    remote, local = serve.started("approve"), serve.started("approve")
    serve.reaches(remote, "waiting", timeout=2.0)
    shown = serve.wfx("status", remote)
    assert shown.returncode == 0 and "Waiting for event 'approval'" in shown.stdout, shown
    sent = serve.wfx("send", remote, "approval", "--payload", '{"by": "url"}', "--json")
    assert sent.returncode == 0, sent.stderr
    assert serve.reaches(remote, "completed")["result"] == {"by": "url"}
    again = serve.wfx("send", remote, "approval", "--payload", "{}")
    assert again.returncode == 1 and "[already_delivered]" in again.stderr
    serve.reaches(local, "waiting", timeout=2.0)
    here = serve.wfx("send", local, "approval", "--payload", '{"by": "cli"}', "--json", url=False)
    assert here.returncode == 0 and json.loads(here.stdout)["status"] == "completed", here
    assert serve.reaches(local, "completed")["result"] == {"by": "cli"}
    bad = serve.wfx("send", local, "approval", "--payload", "{nope", url=False)
    assert bad.returncode == 2


def test_waiting_runs_survive_a_killed_server_and_complete_after_the_restart(serve: Serve) -> None:
    napping, approving = serve.started("nap"), serve.started("approve")
    serve.reaches(napping, "waiting", timeout=2.0)
    serve.reaches(approving, "waiting", timeout=2.0)
    serve.kill()  # SIGKILL: the sleep's timer was only in that process
    serve.start()
    assert serve.reaches(napping, "completed", timeout=10.0)["result"] == "rested"
    assert serve.status(approving)["status"] == "waiting"
    serve.tool("alice", "send_event", execution_id=approving, event="approval", payload={"after": "restart"})
    assert serve.reaches(approving, "completed")["result"] == {"after": "restart"}
