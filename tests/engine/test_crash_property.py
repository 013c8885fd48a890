"""Property: wherever a runner dies (right after any checkpoint), the resumed run ends with the
same result as an uninterrupted one, and no step that had finished runs again."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from engine_fns import count
from executors import make_executor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_executor.models import ExecutionStatus


class Crash(BaseException):
    """The runner's process dies: nothing after this point is written."""


class DiesAfter:
    """The real store, except that the process dies right after its ``n``-th checkpoint."""

    def __init__(self, store: Any, n: int) -> None:
        self._store, self._left, self.dead = store, n, False

    def save_step(self, *args: Any, **kwargs: Any) -> None:
        if self.dead:
            raise Crash
        self._store.save_step(*args, **kwargs)
        self._left -= 1
        if self._left == 0:
            self.dead = True
            raise Crash

    def __getattr__(self, name: str) -> Any:
        if self.dead:
            raise Crash
        return getattr(self._store, name)


@st.composite
def dags(draw: st.DrawFn) -> list[list[int]]:
    """Steps 0..n-1; step i depends on a subset of the earlier ones; a last step joins every
    step nothing depends on (so the result is that join's, whatever order branches end in)."""
    n = draw(st.integers(2, 7))
    deps = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)]
    sinks = [i for i in range(n) if not any(i in d for d in deps)]
    return [*deps, sinks]


def workflow(deps: list[list[int]], log: str) -> str:
    lines = ["workflows:", "  w:", "    steps:"]
    for i, d in enumerate(deps):
        args = f'{{log: "{log}", name: s{i}, value: {{step: {i}, after: "${{input}}"}}}}'
        lines.append(f"      - {{id: s{i}, function: engine_fns.mark, args: {args}"
                     + (f", depends_on: [{', '.join(f's{j}' for j in d)}]" if d else "") + "}")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deps=dags(), crash_after=st.integers(1, 8))
def test_a_run_resumed_after_dying_at_any_checkpoint_matches_an_uninterrupted_run(
        tmp_path: Path, deps: list[list[int]], crash_after: int) -> None:
    home = tmp_path / uuid.uuid4().hex
    wfx = make_executor(home, "sqlite")
    try:
        log = str(home / "calls.log")
        text = workflow(deps, log)
        expected = wfx.run(workflow=text, input="x")
        assert expected.status == ExecutionStatus.COMPLETED, expected.error
        log = str(home / "resumed.log")
        ex = wfx.submit(workflow=workflow(deps, log), input="x", mode="async", dispatch=False)
        real = wfx.engine.store
        wfx.engine.store = DiesAfter(real, crash_after)  # type: ignore[assignment]
        try:
            wfx.engine.run(ex.id)
            died = False
        except Crash:
            died = True
        finally:
            wfx.engine.store = real
        at_death = real.get(ex.id)
        assert at_death is not None
        finished_before = set(at_death.steps)
        if died:
            assert not at_death.finished
            resumed = wfx.engine.run(ex.id, now_s=(at_death.lease_expires_at_s or 0) + 0.001)
        else:
            resumed = at_death
        assert resumed.status == ExecutionStatus.COMPLETED, resumed.error
        assert resumed.result == expected.result
        assert set(resumed.steps) == set(expected.steps)
        for sid in finished_before:
            assert count(log, sid) == 1, f"{sid} finished before the crash and ran again"
        for i in range(len(deps)):
            assert count(log, f"s{i}") >= 1
    finally:
        wfx.close()
