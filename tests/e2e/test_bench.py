"""The cloud bench's targets, measured on the session's stack of real processes (the full
figures come from `python -m bench cloud`)."""

from __future__ import annotations

from workflow_executor.services import Services

from bench.cloud_bench import measure
from emulators.stack import Stack


def test_the_cloud_path_meets_its_latency_throughput_and_write_targets(stack: Stack, client: Services):
    rows = {r["metric"].split(" (")[0]: r["value"] for r in measure(stack, client.store, latency_runs=30,
                                                                    throughput_runs=240)}
    p50 = rows["async 3-step no-op: MCP answer -> completed seen by check_execution_status"]
    rate = rows["sustained async 3-step executions"]
    writes = rows["Firestore document writes per 3-step execution, store"]
    assert p50 <= 150, f"p50 {p50:.0f} ms"
    assert rate >= 50, f"{rate:.0f} executions/s"
    assert writes <= 3 + 3
