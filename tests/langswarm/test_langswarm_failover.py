"""A LangSwarm config with primary and secondary `mcpremote` entries against two `wfx serve`
instances that share one store (Firestore, here its emulator): with the primary killed, the same
start retried on the secondary with the same idempotency key returns the first run (never a
second one), and a run the primary left mid-step is finished by the secondary from its checkpoint."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import eventually
from wfx_procs import ROOT, free_port, stop_group

from emulators import session as emulators

remote = pytest.importorskip("langswarm.tools.mcp.remote.main")
FN = "tests.e2e.fixtures"
PROJECT = "wfx-failover"
HELD = {"workflows": {"held": {"steps": [
    {"id": "a", "function": f"{FN}.append_line", "args": {"path": "${input.log}", "line": "a"}},
    {"id": "b", "function": f"{FN}.wait_for_file",
     "args": {"path": "${input.release}", "log": "${input.log}", "line": "b"}},
    {"id": "c", "function": f"{FN}.append_line", "args": {"path": "${input.log}", "line": "c", "value": "done"}}]}}}


def _start(home: Path, firestore: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "WFX_HOME": str(home), "WFX_STORE": "firestore", "WFX_GCP_PROJECT": PROJECT,
           "FIRESTORE_EMULATOR_HOST": firestore, "WFX_FUNCTION_MODULES": FN, "WFX_LEASE_TTL_S": "2",
           "WFX_SWEEP_INTERVAL_S": "0.5"}
    home.mkdir(parents=True)
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}/"


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two `wfx serve` instances on one Firestore; yields their processes and mcpremote tools."""
    firestore = emulators.firestore().host_port
    procs = [_start(tmp_path / name, firestore) for name in ("primary", "secondary")]
    try:
        tools = {}
        for name, (_proc, url) in zip(("primary", "secondary"), procs, strict=True):
            with contextlib.redirect_stdout(io.StringIO()):  # its constructor prints a harmless warning
                tools[name] = remote.RemoteMCPTool(identifier=f"wfx_{name}", mcp_url=url, headers={},
                                                   timeout=10, retry_count=0)
            eventually(lambda t=tools[name]: "tools" in t.run({"method": "list_tools"}), timeout=40,
                       what=f"the {name} instance to answer")
        yield {"tools": tools, "procs": {"primary": procs[0][0], "secondary": procs[1][0]}}
    finally:
        for proc, _ in procs:
            stop_group(proc)


def _call(tool: Any, name: str, **arguments: Any) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        return dict(tool.run({"method": "call_tool", "params": {"tool_name": name, "arguments": arguments}}))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_a_start_retried_on_the_secondary_after_the_primary_died_returns_the_first_run(
        instances: dict[str, Any], tmp_path: Path) -> None:
    tools, key = instances["tools"], f"order-{uuid.uuid4().hex}"
    release, log = tmp_path / "release", tmp_path / "steps.log"
    arguments = {"workflow": HELD, "input_data": {"log": str(log), "release": str(release)},
                 "execution_mode": "async", "idempotency_key": key}
    first = _call(tools["primary"], "execute_workflow", **arguments)
    execution_id = first["result"]["structuredContent"]["execution_id"]
    eventually(lambda: log.exists() and "b" in log.read_text().split(), timeout=20, what="step b to start")

    _kill(instances["procs"]["primary"])  # mid-step: step a is checkpointed, b is running
    dead = _call(tools["primary"], "execute_workflow", **arguments)
    assert dead["success"] is False  # mcpremote reports the dead instance: the agent turns to the secondary

    again = _call(tools["secondary"], "execute_workflow", **arguments)
    assert again["success"] is True
    assert again["result"]["structuredContent"]["execution_id"] == execution_id  # the same run, not a second
    release.touch()
    done = eventually(lambda: (s := _call(tools["secondary"], "check_execution_status", execution_id=execution_id)
                               ["result"]["structuredContent"])["status"] == "completed" and s,
                      timeout=40, what="the secondary to finish the primary's run")
    assert done["result"] == "done"
    assert log.read_text().split().count("a") == 1  # resumed from its checkpoint: step a did not run again
