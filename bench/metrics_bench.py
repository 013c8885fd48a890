"""The web view at scale (issue 19): the workflows page (metrics from the hourly aggregates) and
the first page of the executions list, served with 100 and with 100,000 executions stored
(SQLite, in-process HTTP handler, median of repeated GETs). The aggregates make both pages cost
the same whatever the number of runs kept."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.models import Execution, ExecutionStatus, Usage
from workflow_executor.workflow_stats import counts_for, hour_of

SIZES = (100, 100_000)
WORKFLOWS = ("alpha", "beta", "gamma", "delta")
GETS = 30


def _seed(db: Path, n: int, now: float) -> None:
    """``n`` finished runs over the last 7 days, each added to its hour's aggregates as the
    observer adds it when a run finishes."""
    store = SqliteExecutionStore(db)
    try:
        for i in range(n):
            at = now - (i * 7 * 86400.0 / n)
            wf = WORKFLOWS[i % len(WORKFLOWS)]
            status = ExecutionStatus.FAILED if i % 10 == 0 else ExecutionStatus.COMPLETED
            took = 0.05 + (i % 50) / 100
            ex = Execution(id=uuid.uuid4().hex, workflow_name=wf, workflow_hash="h", status=status,
                           principal="bench", created_at_s=at, started_at_s=at, ended_at_s=at + took,
                           updated_at_s=at + took, usage=Usage(prompt_tokens=100, completion_tokens=20))
            store.create(ex)
            store.add_stats(wf, hour_of(at + took), counts_for(status, took, ex.usage))
    finally:
        store.close()


def _serve_times(n: int) -> dict[str, float]:
    from workflow_executor.mcp.http import handle
    from workflow_executor.services import build
    from workflow_executor.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        root = Path(home) / "workflows"
        root.mkdir()
        for wf in WORKFLOWS:
            (root / f"{wf}.yaml").write_text(f"workflows:\n  {wf}:\n    steps: [{{id: a, function: builtins.noop}}]\n")
        settings = Settings.from_env({"WFX_HOME": home, "WFX_WORKFLOW_ROOTS": str(root)})
        _seed(settings.home / "wfx.db", n, time.time())
        services = build(settings)
        out: dict[str, float] = {}
        try:
            for path in ("/ui/api/workflows", "/ui/api/executions"):
                ms = []
                for _ in range(GETS + 1):
                    t = time.perf_counter()
                    r = handle(services, "GET", path, {"host": "127.0.0.1:1"}, b"")
                    ms.append((time.perf_counter() - t) * 1000)
                    assert r.status == 200, r.body[:300]
                out[path] = statistics.median(ms[1:])
        finally:
            services.close()
    return out


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    times = {n: _serve_times(n) for n in SIZES}
    for path, label in (("/ui/api/workflows", "workflows page (metrics over 24 h)"),
                        ("/ui/api/executions", "executions list, first page")):
        for n in SIZES:
            rows.append({"metric": f"{label}, {n:,} executions stored (median of {GETS})",
                         "value": times[n][path], "unit": "ms", "target": "same at 100,000 as at 100"})
        rows.append({"metric": f"{label}: 100,000 / 100", "value": times[SIZES[1]][path] / times[SIZES[0]][path],
                     "unit": "x", "target": "< 1.5"})
    return rows
