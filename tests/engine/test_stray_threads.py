"""Timed-out steps leave their threads behind (a thread cannot be killed): the engine counts
them and bounds them; at the limit a step with a timeout fails at once with a clear error, and
the count falls again as their code returns."""

from __future__ import annotations

from pathlib import Path

from executors import make_executor
from support import eventually
from workflow_executor.models import ExecutionStatus


def test_timed_out_step_threads_are_counted_bounded_and_released(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "memory", max_stray_threads=2)
    gate = tmp_path / "gate"
    doc = f"""
workflows:
  w:
    steps:
      - id: slow
        function: engine_fns.wait_for_file
        args: {{path: "{gate}", timeout: 30}}
        timeout: 0.05
"""
    try:
        for _ in range(2):
            res = wfx.run(workflow=doc)
            assert res.status == ExecutionStatus.FAILED and res.error is not None
            assert res.error.code == "step_timeout"
        assert wfx.engine.strays.count() == 2
        refused = wfx.run(workflow=doc)
        assert refused.status == ExecutionStatus.FAILED and refused.error is not None
        assert refused.error.code == "limit_exceeded" and "WFX_MAX_STRAY_THREADS" in refused.error.details["fix"]
        assert wfx.engine.strays.count() == 2  # the refused step started no thread
    finally:
        gate.touch()  # the abandoned steps return
    eventually(lambda: wfx.engine.strays.count() == 0, what="the abandoned step threads to end")
    assert wfx.run(workflow=doc).status == ExecutionStatus.COMPLETED
    wfx.close()
