"""Timed-out steps leave their threads behind (a thread cannot be killed): the engine counts
them and bounds them; at the limit a step with a timeout fails at once with a clear error, and
the count falls again as their code returns."""

from __future__ import annotations

import threading
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


def test_steps_with_a_timeout_reuse_worker_threads_and_still_time_out(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "memory")
    steps = "".join(f"""
      - id: s{i}
        function: engine_fns.thread_id
        args: {{step: {i}}}
        timeout: 5
""" for i in range(4))
    try:
        res = wfx.run(workflow=f"workflows:\n  w:\n    steps:{steps}")
        assert res.status == ExecutionStatus.COMPLETED
        seen = [res.steps[f"s{i}"].output for i in range(4)]
        assert len({token for token, _ in seen}) == 1  # one worker thread, handed each step in turn
        assert threading.get_ident() not in {ident for _, ident in seen}  # not run inline: the timeout holds
    finally:
        wfx.close()
