"""Isolated mode on the emulator stack: an MCP call starts a Cloud Run job execution on our
emulator, whose task runs the job entrypoint; latency from the MCP answer to the job process
starting, to its lease, to the first step starting (the job's cold start: process, imports,
clients, lease) and to `completed`, and the job's own CPU time."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

from bench.cloud_bench import NOOP3, Mcp

RUNS = 15
# Status polls while a run goes on: each is a Firestore read, and the emulator spends about half
# a core on reads every 5 ms (the cloud bench's pace, whose figure is the completion itself), the
# core the starting job needs on a 2-core machine. A run's start is read from its records.
POLL_S = 0.025


def latency(mcp: Mcp, store: Any, executions: Any, workflow: str, runs: int) -> tuple[list[float], ...]:
    """Per run: ms of the isolated answer, ms from that answer to the job's process starting
    (the job execution's start time), to the job taking the run (its lease: imports, clients),
    to the first step's start (the step record's wall-clock start), and until status says
    completed; and the job's CPU ms (the run's usage, measured by the job itself)."""
    answers, spawned, taken, first_steps, completions, cpu = [], [], [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        wall = time.time()
        eid = str(mcp.tool("execute_workflow", workflow_name=workflow, input_data={},
                           execution_mode="isolated")["execution_id"])
        t1 = time.perf_counter()
        answered_wall = wall + (t1 - t0)
        while (status := mcp.tool("check_execution_status", execution_id=eid)["status"]) != "completed":
            if status in ("failed", "timeout", "cancelled"):
                raise RuntimeError(f"isolated run {eid} ended {status}")
            time.sleep(POLL_S)
        completions.append((time.perf_counter() - t1) * 1000)
        answers.append((t1 - t0) * 1000)
        ex = store.get(eid)
        first = min(r.started_at_s for r in ex.steps.values() if r.started_at_s is not None)
        first_steps.append((first - answered_wall) * 1000)
        taken.append(((ex.started_at_s or first) - answered_wall) * 1000)
        job = executions.get_execution(name=store.load_turns(eid, "cloud_run_job")[-1]["name"])
        spawned.append((job.start_time.timestamp() - answered_wall) * 1000)
        cpu.append(ex.usage.cpu_s * 1000)
    return answers, spawned, taken, first_steps, completions, cpu


def run() -> list[dict[str, Any]]:
    """Start a whole stack (own emulators) in a temporary directory, measure, stop it."""
    from workflow_executor.adapters.cloud_run import run_clients
    from workflow_executor.adapters.firestore import client
    from workflow_executor.adapters.firestore_registry import FirestoreWorkflowRegistry
    from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
    from workflow_executor.spec import load_text

    from emulators.stack import start

    with tempfile.TemporaryDirectory() as tmp:
        stack = start(project="wfx-bench-isolated", state_dir=tmp)
        try:
            os.environ["FIRESTORE_EMULATOR_HOST"] = stack.env["FIRESTORE_EMULATOR_HOST"]
            store = FirestoreExecutionStore(client("wfx-bench-isolated"), owns_client=True)
            registry = FirestoreWorkflowRegistry(client("wfx-bench-isolated"), owns_client=True)
            jobs, executions = run_clients(stack.env["WFX_RUN_EMULATOR_HOST"])
            try:
                registry.put("noop3", load_text(NOOP3.format(name="noop3")).model_dump(mode="json"))
                mcp = Mcp(stack.mcp_url)
                latency(mcp, store, executions, "noop3", 2)  # warm the mcp function's clients and the page cache
                answers, spawned, taken, first_steps, completions, cpu = latency(mcp, store, executions, "noop3",
                                                                                 RUNS)
            finally:
                store.close()
                registry.close()
                jobs.transport.close()
        finally:
            stack.stop()
    return [
        {"metric": f"isolated 3-step no-op: MCP answer -> first step started (p50 of {RUNS})",
         "value": statistics.median(first_steps), "unit": "ms", "target": "≤ 400"},
        {"metric": "isolated: MCP answer -> the job's process started (the job execution's start time; p50)",
         "value": statistics.median(spawned), "unit": "ms", "target": "(reference)"},
        {"metric": "isolated: MCP answer -> the job took the run (lease; p50)", "value": statistics.median(taken),
         "unit": "ms", "target": "(reference)"},
        {"metric": "isolated: MCP answer -> first step started (max)", "value": max(first_steps), "unit": "ms",
         "target": "(reference)"},
        {"metric": "isolated 3-step no-op: MCP answer -> completed seen by check_execution_status (p50)",
         "value": statistics.median(completions), "unit": "ms", "target": "(reference)"},
        {"metric": "execute_workflow isolated answer (RunJob included, p50)", "value": statistics.median(answers),
         "unit": "ms", "target": "(reference)"},
        {"metric": "the job process's CPU time for the whole 3-step run (its usage.cpu_s, p50)",
         "value": statistics.median(cpu), "unit": "ms", "target": "(reference)"},
    ]
