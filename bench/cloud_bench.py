"""The cloud path over real processes on the emulators (emulators.stack): latency of an async
3-step no-op from the MCP answer to `completed`, the sustained rate, and Firestore writes per run.
With ``CLOUD_BASE_REF`` set (a git ref) that version's stack runs too, interleaved with this one
round by round (``CLOUD_ROUNDS``, default 2), and the rows say this tree / the base: on a shared
machine only a ratio measured side by side means anything."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path
from typing import Any

import requests

NOOP3 = """
workflows:
  {name}:
    steps:
      - {{id: a, function: builtins.noop}}
      - {{id: b, function: builtins.noop}}
      - {{id: c, function: builtins.noop}}
"""
STEPS = 3
POLL_S = 0.005
_ids = count(1)


class Mcp:
    """A keep-alive JSON-RPC client of the MCP function (one per thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False

    def tool(self, name: str, **arguments: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}
        answer = self.http.post(self.url, json=body, timeout=30).json()
        result = answer["result"]
        if result.get("isError"):
            raise RuntimeError(result)
        return dict(result["structuredContent"])

    def start(self, workflow: str) -> str:
        return str(self.tool("execute_workflow", workflow_name=workflow, input_data={},
                             execution_mode="async")["execution_id"])


def register(mcp: Mcp, registry: Any) -> str:
    """Store a fresh 3-step no-op workflow in the stack's registry, and run it once (sync)."""
    from workflow_executor.spec import load_text

    name = f"noop3-{uuid.uuid4().hex[:8]}"
    registry.put(name, load_text(NOOP3.format(name=name)).model_dump(mode="json"))
    done = mcp.tool("execute_workflow", workflow_name=name, input_data={}, execution_mode="sync")
    assert done["status"] == "completed", done
    return name


def latency(mcp: Mcp, workflow: str, runs: int) -> tuple[list[float], list[float], list[str]]:
    """Per run: ms of the async answer, and ms from that answer until status says completed."""
    answers, completions, ids = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        eid = mcp.start(workflow)
        t1 = time.perf_counter()
        while mcp.tool("check_execution_status", execution_id=eid)["status"] != "completed":
            time.sleep(POLL_S)
        completions.append((time.perf_counter() - t1) * 1000)
        answers.append((t1 - t0) * 1000)
        ids.append(eid)
    return answers, completions, ids


def throughput(url: str, store: Any, workflow: str, runs: int, clients: int = 4) -> float:
    """Executions per second from the first submission to the last completion."""
    from workflow_executor.models import ExecutionStatus
    from workflow_executor.ports import ExecutionQuery

    local = threading.local()
    before = store.count(ExecutionQuery(workflow_name=workflow, status=ExecutionStatus.COMPLETED))

    def submit(_: int) -> str:
        if not hasattr(local, "mcp"):
            local.mcp = Mcp(url)
        return str(local.mcp.start(workflow))

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        ids = set(pool.map(submit, range(runs)))
    deadline = time.monotonic() + 120
    done = ExecutionQuery(workflow_name=workflow, status=ExecutionStatus.COMPLETED)
    while store.count(done) < before + runs:  # an aggregation: cheap enough to poll
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {store.count(done) - before} of {runs} executions completed")
        time.sleep(1.0)  # the rate comes from ended_at_s, not from when we look: poll gently
    mine = [e for e in _all(store, workflow) if e.id in ids]
    last = max(e.ended_at_s or 0 for e in mine) - time.time() + time.perf_counter()  # wall -> perf clock
    return runs / (last - start)


def _all(store: Any, workflow: str) -> list[Any]:
    from workflow_executor.ports import ExecutionQuery

    items, cursor = [], None
    while True:
        page = store.list(ExecutionQuery(workflow_name=workflow, limit=500, cursor=cursor))
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items


def measure(stack: Any, store: Any, registry: Any, *, latency_runs: int = 60,
            throughput_runs: int = 400) -> list[dict[str, Any]]:
    """The rows for a running stack; ``store`` is a FirestoreExecutionStore on its project."""
    mcp = Mcp(stack.mcp_url)
    workflow = register(mcp, registry)
    latency(mcp, workflow, 5)  # warm the path
    answers, completions, ids = latency(mcp, workflow, latency_runs)
    throughput(stack.mcp_url, store, workflow, throughput_runs // 4)  # JIT-warm the emulators' JVMs
    rate = throughput(stack.mcp_url, store, workflow, throughput_runs)
    writes = [store.write_count(i) for i in ids]
    views = store.views()
    view_writes = sum(1 for i in ids if views.get(i) is not None) / len(ids)
    q = statistics.quantiles(completions, n=10)
    return [
        {"metric": "async 3-step no-op: MCP answer -> completed seen by check_execution_status (p50)",
         "value": statistics.median(completions), "unit": "ms", "target": "≤ 150"},
        {"metric": "async 3-step no-op: MCP answer -> completed (p90)", "value": q[8], "unit": "ms",
         "target": "(reference)"},
        {"metric": "execute_workflow async answer (p50)", "value": statistics.median(answers), "unit": "ms",
         "target": "(reference)"},
        {"metric": f"sustained async 3-step executions ({throughput_runs}, 4 MCP clients)", "value": rate,
         "unit": "executions/s", "target": "≥ 60"},
        {"metric": "Firestore document writes per 3-step execution, store (max)", "value": max(writes),
         "unit": "writes", "target": f"≤ {STEPS + 2} (steps + 2)"},
        {"metric": "Firestore document writes per execution, events function views (mean)",
         "value": view_writes, "unit": "writes", "target": "(reference)"},
    ]


def run() -> list[dict[str, Any]]:
    """This tree's rows; beside ``CLOUD_BASE_REF`` (if set), the medians of interleaved rounds
    of both and their ratios."""
    base_ref = os.environ.get("CLOUD_BASE_REF")
    if not base_ref:
        return run_here()
    root = Path(__file__).resolve().parents[1]
    rounds = int(os.environ.get("CLOUD_ROUNDS", "2"))
    got: dict[str, list[list[dict[str, Any]]]] = {"now": [], "base": []}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", base_ref, "shared", "functions", "emulators",
                                  "bench"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for _ in range(rounds):
            for name, top in (("base", Path(tmp)), ("now", root)):
                code = ("import json; from bench import cloud_bench as c; "  # an older bench has run() only
                        "print(json.dumps(getattr(c, 'run_here', c.run)()))")
                env = {k: v for k, v in os.environ.items() if k != "CLOUD_BASE_REF"}
                out = subprocess.run([sys.executable, "-c", code], cwd=top, check=True, capture_output=True, text=True,
                                     env={**env, "PYTHONPATH": f"{top / 'shared'}{os.pathsep}{top}"})
                got[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(got["now"][0]):
        now = statistics.median(r[i]["value"] for r in got["now"])
        before = statistics.median(r[i]["value"] for r in got["base"])
        rows.append({**row, "metric": f"{row['metric']} (median of {rounds})", "value": now})
        rows.append({**row, "metric": f"{base_ref} (before): {row['metric']}", "value": before,
                     "target": "(reference)"})
        if "executions/s" in row["unit"] or "writes" in row["unit"]:
            ratios = [n[i]["value"] / b[i]["value"] for n, b in zip(got["now"], got["base"], strict=True)]
            rows.append({"metric": f"{row['metric']}: this tree / {base_ref}, each round", "unit": "x",
                         "value": " / ".join(f"{r:.2f}" for r in ratios), "target": "(reference)"})
    return rows


def run_here() -> list[dict[str, Any]]:
    """Start a whole stack (own emulators) in a temporary directory, measure, stop it."""
    from workflow_executor.adapters.firestore import client
    from workflow_executor.adapters.firestore_registry import FirestoreWorkflowRegistry
    from workflow_executor.adapters.firestore_store import FirestoreExecutionStore

    from emulators.stack import start

    with tempfile.TemporaryDirectory() as tmp:
        stack = start(project="wfx-bench", state_dir=tmp)
        try:
            os.environ["FIRESTORE_EMULATOR_HOST"] = stack.env["FIRESTORE_EMULATOR_HOST"]
            store = FirestoreExecutionStore(client("wfx-bench"), owns_client=True)
            registry = FirestoreWorkflowRegistry(client("wfx-bench"), owns_client=True)
            try:
                return measure(stack, store, registry)
            finally:
                store.close()
                registry.close()
        finally:
            stack.stop()
