"""Micro-benchmark: median microseconds per ``save_step`` on the SQLite store (FULL vs NORMAL)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.models import Execution, Progress, StepRecord, StepStatus


def bench_save_step(synchronous: Literal["NORMAL", "FULL"], steps: int = 2000) -> float:
    """Median µs per save_step over ``steps`` checkpoints of one execution in a fresh file."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteExecutionStore(Path(tmp) / "bench.db", synchronous=synchronous)
        now = time.time()
        store.create(
            Execution(id="bench", workflow_name="w", workflow_hash="h", created_at_s=now, updated_at_s=now)
        )
        store.acquire_lease("bench", "owner", 60.0, now)
        timings = []
        for i in range(steps):
            record = StepRecord(
                step_id=f"s{i}",
                status=StepStatus.COMPLETED,
                attempts=1,
                seq=i,
                output={"text": "x" * 200, "items": [1, 2, 3], "ok": True},
            )
            progress = Progress(completed=i + 1, total=steps, current=[f"s{i + 1}"])
            start = time.perf_counter_ns()
            store.save_step("bench", "owner", record, progress, now + 60.0)
            timings.append((time.perf_counter_ns() - start) / 1000)
        store.close()
        return statistics.median(timings)


def main() -> None:
    for mode in ("FULL", "NORMAL"):
        print(f"save_step synchronous={mode}: median {bench_save_step(mode):.1f} µs")


if __name__ == "__main__":
    main()
