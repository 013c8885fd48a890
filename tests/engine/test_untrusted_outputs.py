"""Untrusted data cannot flood the store or leave a run stuck: ``${...}`` amplification is
bounded by WFX_MAX_RENDER_CHARS and a step's output by WFX_MAX_OUTPUT_BYTES (errors name the
step and the limit); an output that cannot be checkpointed (too deep, not JSON) fails its step
when it returns, and the run ends - sync or async - instead of staying ``running``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from executors import make_executor
from workflow_executor.api import Executor
from workflow_executor.errors import InvalidArgument
from workflow_executor.models import ExecutionStatus

REPEAT = "".join("${%s.output}" for _ in range(100))


def amplifier(n: int) -> str:
    """A small request: n chained echo steps, each repeating the previous output 100 times."""
    steps = [{"id": "s0", "function": "builtins.echo", "args": {"value": "${user_input}"}}]
    for i in range(1, n):
        steps.append({"id": f"s{i}", "function": "builtins.echo", "args": {"value": REPEAT % ((f"s{i - 1}",) * 100)}})
    return json.dumps({"workflows": {"amp": {"steps": steps}}})


def test_chained_repetition_fails_at_the_step_that_passes_the_render_limit(wfx: Executor, tmp_path: Path) -> None:
    ex = wfx.run(workflow=amplifier(4), input={"user_input": "x" * 4000})
    assert ex.status == ExecutionStatus.FAILED
    assert ex.error is not None
    assert (ex.error.code, ex.error.step) == ("limit_exceeded", "s2")  # s1 made 400 KB; s2 would make 40 MB
    assert "1048576" in ex.error.message and "WFX_MAX_RENDER_CHARS" in ex.error.message
    db = tmp_path / "home" / "wfx.db"
    if db.exists():
        assert db.stat().st_size < 5 * 1024 * 1024


def test_an_output_past_the_output_limit_fails_its_step_and_names_the_limit(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite", max_output_bytes=100_000)
    try:
        doc = {"workflows": {"big": {"steps": [
            {"id": "a", "function": "builtins.echo", "args": {"value": "${user_input}${user_input}"}},
            {"id": "b", "function": "builtins.echo", "args": {"value": "${a.output}"},
             "loop": {"for_each": "${input.items}", "max": 100}},
        ]}}}
        small = wfx.run(workflow=json.dumps(doc), input={"user_input": "y" * 30_000, "items": [1, 2, 3]})
        assert small.status == ExecutionStatus.FAILED and small.error is not None
        assert (small.error.code, small.error.step) == ("invalid_output", "b")  # 3 x 60 KB together
        big = wfx.run(workflow=json.dumps(doc), input={"user_input": "y" * 60_000, "items": [1]})
        assert big.error is not None and (big.error.code, big.error.step) == ("invalid_output", "a")
        assert "100000 bytes" in big.error.message
    finally:
        wfx.close()


DEEP = {"function": "builtins.echo", "args": {"value": {"x": "${loop.last}"}},  # built-ins only: 300 deep
        "loop": {"until": "false", "max": 300}}
PLAIN = {"function": "engine_fns.plain_object"}


@pytest.mark.parametrize(("step", "mode"), [(DEEP, "sync"), (DEEP, "async"), (PLAIN, "sync"), (PLAIN, "async")])
def test_an_output_that_cannot_be_checkpointed_fails_the_step_and_the_run_ends(
        wfx: Executor, step: dict[str, object], mode: str) -> None:
    doc = {"workflows": {"odd": {"steps": [{"id": "make", **step, "output": {"to": "after"}},
                                           {"id": "after", "function": "builtins.echo", "args": {"value": 1}}]}}}
    ex = wfx.submit(workflow=json.dumps(doc), input={}, mode=mode)
    ex = wfx.wait(ex.id, timeout=20)
    assert ex.status == ExecutionStatus.FAILED
    assert ex.error is not None and (ex.error.code, ex.error.step) == ("invalid_output", "make")
    assert list(wfx.status(ex.id).steps) == ["make"]


def test_an_input_that_cannot_be_stored_is_refused_before_anything_is_stored(wfx: Executor) -> None:
    deep: object = "leaf"
    for _ in range(300):
        deep = [deep]
    doc = json.dumps({"workflows": {"w": {"steps": [{"id": "a", "function": "builtins.noop"}]}}})
    before = len(wfx.executions().items)
    for bad in (deep, {"x": "\udc80"}, {"x": object()}, [10 ** 4200]):
        with pytest.raises(InvalidArgument) as err:
            wfx.run(workflow=doc, input=bad)
        assert err.value.details["field"] == "input_data"
    assert len(wfx.executions().items) == before
