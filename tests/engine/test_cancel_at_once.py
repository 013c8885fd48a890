"""A cancel ends the execution at once, while a step still runs: the status is ``cancelled``
when ``cancel`` returns, and the step that was running is discarded when it ends (its result
is never stored, the next step never starts)."""

from __future__ import annotations

from pathlib import Path

from support import eventually
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus


def test_a_cancel_during_a_step_is_final_at_once_and_the_step_is_discarded(
        wfx: Executor, tmp_path: Path, log: str) -> None:
    gate = tmp_path / "gate"
    started = wfx.start("w", None, workflow=f"""
workflows:
  w:
    steps:
      - {{id: first, function: engine_fns.mark, args: {{log: "{log}", name: first}}}}
      - {{id: held, function: engine_fns.gate_then_mark, args: {{gate: "{gate}", log: "{log}", name: held}}}}
      - {{id: after, function: engine_fns.mark, args: {{log: "{log}", name: after}}}}
""")
    eventually(lambda: wfx.status(started.id).progress.completed == 1, what="the first step checkpointed")
    cancelled = wfx.cancel(started.id)
    assert cancelled.status == ExecutionStatus.CANCELLED
    assert cancelled.error is not None and cancelled.error.code == "cancelled"
    gate.touch()
    eventually(lambda: "held" in Path(log).read_text().split(), what="the held step to end")
    eventually(lambda: started.id not in wfx.engine._cancel_flags, what="the runner to stop")
    final = wfx.status(started.id)
    assert final.status == ExecutionStatus.CANCELLED and list(final.steps) == ["first"]
    assert "after" not in Path(log).read_text().split()
