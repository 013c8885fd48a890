"""A loop step records when each iteration started and ended (plain actions and bodies alike, a
failed iteration too), inside the step's own start and end, over memory and SQLite."""

from __future__ import annotations

from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus, StepStatus

SLEEPS = [0.03, 0.01, 0.05]


def _check_times(times: list[list[float]], started: float, ended: float, least: list[float]) -> None:
    assert len(times) == len(least)
    for (began, done), at_least in zip(times, least, strict=True):
        assert started <= began <= done <= ended
        assert done - began >= at_least * 0.9  # the sleep (timers may round a little)
    assert all(times[i][1] <= times[i + 1][0] for i in range(len(times) - 1))  # one after another


def test_each_iteration_of_a_for_each_loop_has_its_start_and_end(wfx: Executor) -> None:
    res = wfx.run(input={"xs": SLEEPS}, workflow="""
workflows:
  w:
    steps:
      - id: each
        function: builtins.sleep
        args: {seconds: "${n}", value: "${loop.index}"}
        loop: {for_each: "${input.xs}", var: n}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    rec = wfx.status(res.id).steps["each"]  # as stored, not only as the runner held it
    assert rec.output == [0, 1, 2]
    assert rec.started_at_s is not None and rec.ended_at_s is not None and rec.iterations is not None
    _check_times(rec.iterations, rec.started_at_s, rec.ended_at_s, SLEEPS)


def test_a_loop_body_and_an_until_loop_are_timed_per_iteration(wfx: Executor) -> None:
    res = wfx.run(input=None, workflow="""
workflows:
  w:
    steps:
      - id: rounds
        loop:
          until: "${loop.index} >= 1"
          max: 5
          body:
            - {id: wait, function: builtins.sleep, args: {seconds: 0.02}}
            - {id: say, function: builtins.echo, args: {value: "${loop.index}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    rec = wfx.status(res.id).steps["rounds"]
    assert rec.iterations is not None and rec.started_at_s and rec.ended_at_s
    _check_times(rec.iterations, rec.started_at_s, rec.ended_at_s, [0.02, 0.02])


def test_a_failed_loop_keeps_the_times_of_the_iterations_up_to_the_failing_one(wfx: Executor) -> None:
    res = wfx.run(input={"xs": ["ab", "abc", 7, "never"]}, workflow="""
workflows:
  w:
    steps:
      - {id: sizes, function: builtins.length, args: {value: "${item}"}, loop: {for_each: "${input.xs}"}}
""")
    assert res.status == ExecutionStatus.FAILED
    rec = wfx.status(res.id).steps["sizes"]
    assert rec.status == StepStatus.FAILED and rec.error is not None
    assert rec.iterations is not None and rec.started_at_s and rec.ended_at_s
    _check_times(rec.iterations, rec.started_at_s, rec.ended_at_s, [0.0, 0.0, 0.0])


def test_a_step_without_a_loop_records_no_iterations(wfx: Executor) -> None:
    res = wfx.run(input=None, workflow="workflows:\n  w:\n    steps:\n      - {id: a, function: builtins.echo}\n")
    assert res.status == ExecutionStatus.COMPLETED and wfx.status(res.id).steps["a"].iterations is None
