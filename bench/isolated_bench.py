"""Isolated mode on the emulator stack: an MCP call starts a Cloud Run job execution on our
emulator, whose task runs the job entrypoint; latency from the MCP answer to the first step
starting (the job's cold start: process, imports, clients, lease) and to `completed`."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

from bench.cloud_bench import NOOP3, POLL_S, Mcp

RUNS = 15


def latency(mcp: Mcp, store: Any, workflow: str, runs: int) -> tuple[list[float], ...]:
    """Per run: ms of the isolated answer, ms from that answer to the job taking the run (its
    lease: process start, imports, clients), to the first step's start (the step record's
    wall-clock start), and until status says completed."""
    answers, taken, first_steps, completions = [], [], [], []
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
    return answers, taken, first_steps, completions


def run() -> list[dict[str, Any]]:
    """Start a whole stack (own emulators) in a temporary directory, measure, stop it."""
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
            try:
                registry.put("noop3", load_text(NOOP3.format(name="noop3")).model_dump(mode="json"))
                mcp = Mcp(stack.mcp_url)
                latency(mcp, store, "noop3", 2)  # warm the mcp function's clients and the page cache
                answers, taken, first_steps, completions = latency(mcp, store, "noop3", RUNS)
            finally:
                store.close()
                registry.close()
        finally:
            stack.stop()
    return [
        {"metric": f"isolated 3-step no-op: MCP answer -> first step started (p50 of {RUNS})",
         "value": statistics.median(first_steps), "unit": "ms", "target": "≤ 1000"},
        {"metric": "isolated: MCP answer -> the job took the run (lease; p50)", "value": statistics.median(taken),
         "unit": "ms", "target": "(reference)"},
        {"metric": "isolated: MCP answer -> first step started (max)", "value": max(first_steps), "unit": "ms",
         "target": "(reference)"},
        {"metric": "isolated 3-step no-op: MCP answer -> completed seen by check_execution_status (p50)",
         "value": statistics.median(completions), "unit": "ms", "target": "(reference)"},
        {"metric": "execute_workflow isolated answer (RunJob included, p50)", "value": statistics.median(answers),
         "unit": "ms", "target": "(reference)"},
    ]
