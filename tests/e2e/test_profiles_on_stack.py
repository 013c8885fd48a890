"""Execution profiles and the operator's own code on the emulator stack: a run lands on its
profile's job (each profile a job on the Cloud Run emulator, which enforces its limits), an
unknown profile is refused with the list, a run killed for memory resumes on the fallback
without re-running a finished step, and a module on the operator's PYTHONPATH runs in every mode.
One stack of its own (project wfx-profiles) on the session's Firestore and Pub/Sub emulators."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import eventually
from wfx_e2e_support import rpc, tool
from workflow_executor.services import Services, build
from workflow_executor.settings import Settings

from emulators import session as emulators
from emulators.stack import Stack, start

PROJECT = "wfx-profiles"
FN = "tests.e2e.fixtures"
OPERATOR_MODULE = "acme_steps"  # lives outside the repository, on the operator's PYTHONPATH
PROFILES = {"small": {"cpu": "1", "memory": "256Mi", "fallback": "big", "max_retries": 0},
            "big": {"cpu": "2", "memory": "1Gi", "max_retries": 0}}
TERMINAL = ("completed", "failed", "timeout", "cancelled")


@pytest.fixture(scope="module")
def operator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("operator")
    (folder / f"{OPERATOR_MODULE}.py").write_text(textwrap.dedent('''
        """An operator's step functions (not part of the repository)."""
        import os


        def shout(text):
            return {"text": text.upper(), "profile": os.environ.get("WFX_PROFILE")}


        def grow(mb):
            block = bytearray(mb * 2**20)
            block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just reserved
            return len(block) // 2**20
    '''))
    return folder


@pytest.fixture(scope="module")
def pstack(tmp_path_factory: pytest.TempPathFactory, operator_dir: Path) -> Iterator[Stack]:
    fs, ps = emulators.firestore(), emulators.pubsub()
    st = start(project=PROJECT, state_dir=tmp_path_factory.mktemp("pstack"), firestore_host=fs.host_port,
               pubsub_host=ps.host_port,
               extra_env={"WFX_FUNCTION_MODULES": f"{FN},{OPERATOR_MODULE}", "PYTHONPATH": str(operator_dir),
                          "WFX_PROFILES": json.dumps(PROFILES), "WFX_LEASE_TTL_S": "5",
                          "WFX_SWEEP_INTERVAL_S": "0"})
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="module")
def pclient(pstack: Stack) -> Iterator[Services]:
    svc = build(Settings(store="firestore", gcp_project=PROJECT, events="local", queue="local"), with_queue=False)
    yield svc
    svc.close()


def ended(stack: Stack, execution_id: str, timeout: float = 40.0) -> dict[str, Any]:
    return eventually(lambda: (s := tool(stack.mcp_url, "check_execution_status", execution_id=execution_id))
                      ["status"] in TERMINAL and s, timeout=timeout, what=f"execution {execution_id} to end")


def test_a_run_with_target_instance_big_lands_on_the_big_job(pstack: Stack, pclient: Services) -> None:
    flow = {"workflows": {"where": {"steps": [{"id": "s", "function": f"{OPERATOR_MODULE}.shout",
                                               "args": {"text": "hi"}}]}}}
    started = tool(pstack.mcp_url, "execute_workflow", workflow=flow, input_data={}, target_instance="big")
    assert started["execution_mode"] == "isolated"  # a target_instance alone means an isolated run
    done = ended(pstack, started["execution_id"])
    assert (done["status"], done["result"]) == ("completed", {"text": "HI", "profile": "big"})
    assert done["placement"] == {"target_instance": "big", "profile": "big"}
    job = pclient.store.load_turns(started["execution_id"], "cloud_run_job")[0]["name"]
    assert "/jobs/wfx-isolated-big/executions/" in job


def test_an_unknown_profile_is_refused_with_the_known_ones(pstack: Stack) -> None:
    result = rpc(pstack.mcp_url, "tools/call", {"name": "execute_workflow", "arguments": {
        "workflow_name": "nothing", "input_data": {}, "execution_mode": "isolated", "target_instance": "gpu"}})
    error = result["structuredContent"]
    assert (result["isError"], error["code"], error["field"]) == (True, "invalid_argument", "target_instance")
    assert "big, small" in error["message"]


def test_a_run_killed_for_memory_on_small_resumes_on_its_fallback_without_rerunning_a_step(
        pstack: Stack, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    flow = textwrap.dedent(f"""
        workflows:
          hungry:
            steps:
              - {{id: a, function: {FN}.append_line, args: {{path: "${{input.log}}", line: a}}}}
              - {{id: b, function: {OPERATOR_MODULE}.grow, args: {{mb: 320}}}}
              - {{id: c, function: {FN}.append_line, args: {{path: "${{input.log}}", line: c, value: fed}}}}
    """)
    started = tool(pstack.mcp_url, "execute_workflow", workflow=flow, input_data={"log": str(log)},
                   execution_mode="isolated", target_instance="small")
    done = ended(pstack, started["execution_id"])
    assert (done["status"], done["result"]) == ("completed", "fed")
    assert log.read_text().split() == ["a", "c"]  # step a ran once: resumed from its checkpoint
    attempts = {s["id"]: s["attempts"] for s in done["steps"]}
    assert (attempts["a"], attempts["c"]) == (1, 1)
    moved = done["placement"]
    assert (moved["target_instance"], moved["profile"], moved["recovered"]["from"]) == ("small", "big", "small")
    assert "Memory limit of 256 MiB exceeded" in moved["recovered"]["cause"]


@pytest.mark.parametrize("mode", ["sync", "async", "isolated"])
def test_an_operator_function_on_the_operators_pythonpath_runs_in_every_mode(pstack: Stack, mode: str) -> None:
    flow = {"workflows": {"op": {"steps": [
        {"id": "s", "function": f"{OPERATOR_MODULE}.shout", "args": {"text": "${input.t}"}}]}}}
    started = tool(pstack.mcp_url, "execute_workflow", workflow=flow, input_data={"t": mode}, execution_mode=mode)
    done = ended(pstack, started["execution_id"])
    assert (done["status"], done["result"]["text"]) == ("completed", mode.upper())
