"""Engine figures on the embedded SQLite backend: durable per-step overhead (FULL / NORMAL),
throughput of 10-step workflows at concurrency 16, and a 10-step sync run end to end."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from workflow_executor.api import Executor
from workflow_executor.settings import Settings


def _noop_workflow(name: str, steps: int) -> str:
    body = "".join(f"      - {{id: s{i}, function: builtins.noop}}\n" for i in range(steps))
    return f"workflows:\n  {name}:\n    steps:\n{body}"


def _executor(home: Path, synchronous: str) -> Executor:
    s = replace(Settings.from_env({"WFX_HOME": str(home)}), sqlite_synchronous=synchronous)
    return Executor.local(settings=s)


def median_run_s(synchronous: str, steps: int, runs: int = 200) -> float:
    """Median seconds of a durable run of ``steps`` no-op steps (one committed write each),
    creation, lease and finish included."""
    with tempfile.TemporaryDirectory() as tmp:
        ex = _executor(Path(tmp), synchronous)
        ex.register(_noop_workflow("w", steps))
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            ex.run("w")
            times.append(time.perf_counter() - t)
        ex.close()
        return statistics.median(times)


def per_step_rows(synchronous: str, target: str) -> list[dict[str, Any]]:
    """The marginal cost of one more step ((T50 - T10) / 40: what each step adds), and the
    whole run divided by its steps (creation, lease and finish spread over 50 steps)."""
    t10, t50 = median_run_s(synchronous, 10), median_run_s(synchronous, 50)
    label = "FULL" if synchronous == "FULL" else "WAL + NORMAL"
    return [
        {"metric": f"durable per-step overhead, SQLite {label} (median, marginal)",
         "value": (t50 - t10) / 40 * 1e6, "unit": "µs/step", "target": target},
        {"metric": f"whole 50-step run / 50, SQLite {label} (median)",
         "value": t50 / 50 * 1e6, "unit": "µs/step", "target": "(reference)"},
    ]


def sync_run_ms(steps: int = 10, runs: int = 500) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        ex = _executor(Path(tmp), "NORMAL")
        ex.register(_noop_workflow("w", steps))
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            res = ex.run("w")
            times.append(time.perf_counter() - t)
            assert res.status.value == "completed"
        ex.close()
        return statistics.median(times) * 1e3


def throughput_per_s(synchronous: str, concurrency: int = 16, seconds: float = 3.0) -> float:
    """10-step durable workflows completed per second by ``concurrency`` threads."""
    with tempfile.TemporaryDirectory() as tmp:
        ex = _executor(Path(tmp), synchronous)
        ex.register(_noop_workflow("w", 10))
        done = [0] * concurrency
        stop = time.perf_counter() + seconds

        def worker(i: int) -> None:
            while time.perf_counter() < stop:
                ex.run("w")
                done[i] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        ex.close()
        return sum(done) / elapsed


def run() -> list[dict[str, Any]]:
    return [
        *per_step_rows("FULL", "≤ 250"),
        *per_step_rows("NORMAL", "≤ 50"),
        {"metric": "10-step durable workflows at concurrency 16 (WAL + NORMAL)",
         "value": throughput_per_s("NORMAL"), "unit": "workflows/s", "target": "≥ 400"},
        {"metric": "10-step durable workflows at concurrency 16 (FULL)",
         "value": throughput_per_s("FULL"), "unit": "workflows/s", "target": "(no target)"},
        {"metric": "10-step no-op sync run in-process, end to end (median)",
         "value": sync_run_ms(), "unit": "ms", "target": "≤ 3"},
    ]
