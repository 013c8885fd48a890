"""Isolated mode end to end on the emulator stack: MCP function -> Cloud Run Jobs API (our
emulator) -> job process (the job entrypoint) -> Firestore -> events, and the faults it must
survive: a task timeout, a SIGKILLed job (retried, resumed), a cancel, and secrets the job must
not see."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from support import eventually
from wfx_e2e_support import tool
from workflow_executor.services import Services

from emulators.stack import Stack

FN = "tests.e2e.fixtures"
TERMINAL = ("completed", "failed", "timeout", "cancelled")
HELD = f"""
workflows:
  held_isolated:
    steps:
      - {{id: a, function: {FN}.append_line, args: {{path: "${{input.log}}", line: a}}}}
      - {{id: b, function: {FN}.wait_for_file, args: {{path: "${{input.release}}", log: "${{input.log}}", line: b}}}}
      - {{id: c, function: {FN}.append_line, args: {{path: "${{input.log}}", line: c, value: done}}}}
"""


def lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def run(stack: Stack, workflow: str, **arguments: Any) -> str:
    started = tool(stack.mcp_url, "execute_workflow", workflow=workflow, execution_mode="isolated", **arguments)
    return str(started["execution_id"])


def ended(stack: Stack, execution_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return eventually(lambda: (s := tool(stack.mcp_url, "check_execution_status", execution_id=execution_id))
                      ["status"] in TERMINAL and s, timeout=timeout, what=f"execution {execution_id} to end")


def job_pid(execution_id: str) -> int:
    """The job process (a process-group leader) whose environment names ``execution_id``."""
    def find() -> int | None:
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                pid = int(environ.parent.name)
                if f"WFX_EXECUTION_ID={execution_id}".encode() in environ.read_bytes().split(b"\0") \
                        and os.getpgid(pid) == pid:
                    return pid
            except (OSError, ValueError):
                continue  # not ours to read, or gone
        return None
    return int(eventually(find, timeout=20, what=f"the job process of {execution_id}"))


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_an_isolated_run_from_the_mcp_url_completes_as_a_cloud_run_job(stack: Stack, client: Services,
                                                                       log: Path, tmp_path: Path) -> None:
    (tmp_path / "release").touch()
    execution_id = run(stack, HELD, input_data={"log": str(log), "release": str(tmp_path / "release")})
    done = ended(stack, execution_id)
    assert (done["status"], lines(log)) == ("completed", ["a", "b", "c"])
    assert client.store.load_turns(execution_id, "cloud_run_job")[0]["name"].startswith(stack.env["WFX_RUN_JOB"])
    views = client.store.views()  # type: ignore[attr-defined]
    view = eventually(lambda: views.get(execution_id), what="the events function's view")
    assert view["status"] == "completed"


def test_a_step_over_the_timeout_ends_timeout(stack: Stack) -> None:
    slow = f"workflows: {{slow_isolated: {{steps: [{{id: s, function: {FN}.pause, args: {{seconds: 60}}}}]}}}}"
    started = time.monotonic()
    execution_id = run(stack, slow, input_data={}, timeout=2)
    done = ended(stack, execution_id)
    assert done["status"] == "timeout" and time.monotonic() - started < 20


def test_a_sigkilled_job_is_retried_once_and_resumes_without_rerunning_finished_steps(
        stack: Stack, log: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    execution_id = run(stack, HELD, input_data={"log": str(log), "release": str(release)})
    eventually(lambda: "b" in lines(log), timeout=30, what="step b to start")
    first = job_pid(execution_id)
    os.killpg(first, signal.SIGKILL)
    eventually(lambda: lines(log).count("b") == 2, timeout=30, what="the retry to resume at step b")
    assert job_pid(execution_id) != first
    release.touch()
    assert ended(stack, execution_id)["status"] == "completed"
    assert lines(log) == ["a", "b", "b", "c"]  # a finished before the kill: never again


def test_cancel_ends_cancelled_within_seconds_with_the_job_process_group_gone(
        stack: Stack, log: Path, tmp_path: Path) -> None:
    execution_id = run(stack, HELD, input_data={"log": str(log), "release": str(tmp_path / "never")})
    eventually(lambda: "b" in lines(log), timeout=30, what="step b to start")
    pgid = job_pid(execution_id)
    started = time.monotonic()
    assert tool(stack.mcp_url, "cancel_execution", execution_id=execution_id)["status"] == "cancelled"
    eventually(lambda: group_gone(pgid), timeout=10, what="the job's process group to be gone")
    assert time.monotonic() - started < 10
    assert ended(stack, execution_id)["status"] == "cancelled"


def test_the_job_sees_none_of_the_functions_secrets(stack: Stack) -> None:
    peek = f"workflows: {{peek_isolated: {{steps: [{{id: peek, function: {FN}.environment}}]}}}}"
    execution_id = run(stack, peek, input_data={})
    done = ended(stack, execution_id)
    assert done["status"] == "completed", done
    seen: dict[str, str] = done["result"]
    functions_env = stack.proc("mcp").env
    canary = functions_env["WFX_E2E_CANARY_SECRET"]  # in the functions' environment (conftest)
    secrets = [canary, functions_env["WFX_WORKER_SECRET"]]
    assert not [k for k, v in seen.items() if v in secrets or k in ("WFX_E2E_CANARY_SECRET", "WFX_WORKER_SECRET")]
    assert seen["WFX_EXECUTION_ID"] == execution_id and seen["CLOUD_RUN_TASK_ATTEMPT"] == "0"
    # what it does see: the functions' store and events settings, as infra/run_job.tf gives them
    assert seen["WFX_STORE"] == "firestore" and seen["WFX_EVENTS_TOPIC"] == stack.env["WFX_EVENTS_TOPIC"]
