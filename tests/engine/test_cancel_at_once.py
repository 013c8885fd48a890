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


def test_a_redelivery_honours_a_cancel_already_stored_before_any_step_starts(wfx: Executor, log: str) -> None:
    # The cancel flag is stored but the run is not yet ended (the cancel's own finish failed, say):
    # the next delivery must end it, not start a step first and look at the flag half a second later.
    ex = wfx.submit("w", None, mode="async", dispatch=False, workflow=f"""
workflows:
  w:
    steps:
      - {{id: first, function: engine_fns.mark, args: {{log: "{log}", name: first}}}}
""")
    wfx.store.acquire_lease(ex.id, "another-host:1:dead", 60.0, wfx.engine.clock.now() - 100)
    flagged = wfx.store.request_cancel(ex.id, wfx.engine.clock.now())
    assert flagged.cancel_requested and flagged.status == ExecutionStatus.RUNNING
    final = wfx.engine.run(ex.id)
    assert final.status == ExecutionStatus.CANCELLED and final.steps == {}
    assert not Path(log).exists()
