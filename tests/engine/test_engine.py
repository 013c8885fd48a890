"""Engine semantics over memory and SQLite: order, routing, parallelism, loops, retries,
timeouts, cancellation, child workflows, rerun, idempotency and events."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from engine_fns import count
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.errors import LeaseHeld, SpecError
from workflow_executor.models import ExecutionStatus, StepStatus
from workflow_executor.ports import Event


def order(ex: object) -> list[str]:
    steps = ex.steps  # type: ignore[attr-defined]
    return [r.step_id for r in sorted(steps.values(), key=lambda r: r.seq)]


def test_steps_without_routing_run_in_list_order_and_the_last_output_is_the_result(wfx: Executor) -> None:
    res = wfx.run(input="hi", workflow="""
workflows:
  w:
    steps:
      - {id: a, function: builtins.echo, args: {value: "${user_input}!"}}
      - {id: b, function: builtins.echo, args: {value: "${a.output} again"}}
      - {id: c, function: builtins.length, args: {value: "${context.step_outputs.b}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED
    assert order(res) == ["a", "b", "c"]
    assert res.steps["b"].output == "hi! again"
    assert res.result == len("hi! again")
    assert res.progress.completed == 3 and res.progress.total == 3


def test_the_output_routed_to_user_is_the_result_even_when_other_steps_finish_later(wfx: Executor) -> None:
    res = wfx.run(input=None, workflow="""
workflows:
  w:
    steps:
      - {id: a, function: builtins.echo, args: {value: 1}, output: {to: [answer, later]}}
      - {id: answer, function: builtins.echo, args: {value: the answer}, output: {to: user}}
      - {id: later, function: builtins.sleep, args: {seconds: 0.05, value: late}}
""")
    assert res.result == "the answer"
    assert res.steps["later"].status == StepStatus.COMPLETED


@pytest.mark.parametrize(("value", "expected"), [(5, "big"), (1, "small")])
def test_an_if_condition_routes_to_exactly_one_branch(wfx: Executor, value: int, expected: str) -> None:
    res = wfx.run(input={"n": value}, workflow="""
workflows:
  w:
    steps:
      - id: a
        function: builtins.echo
        args: {value: "${input.n}"}
        output: {to: {condition: {if: "${a.output} > 3 and true", then: big, else: small}}}
      - {id: big, function: builtins.echo, args: {value: big}, output: {to: user}}
      - {id: small, function: builtins.echo, args: {value: small}, output: {to: user}}
""")
    assert res.result == expected
    assert set(res.steps) == {"a", expected}


@pytest.mark.parametrize(("kind", "expected"), [("pdf", "to_pdf"), ("csv", "to_csv"), ("xml", "other")])
def test_a_switch_condition_picks_its_case_or_the_default(wfx: Executor, kind: str, expected: str) -> None:
    res = wfx.run(input={"kind": kind}, workflow="""
workflows:
  w:
    steps:
      - id: a
        function: builtins.echo
        args: {value: "${input.kind}"}
        output: {to: {condition: {switch: "${a.output}", cases: {pdf: to_pdf, csv: to_csv}, default: other}}}
      - {id: to_pdf, function: builtins.echo, args: {value: to_pdf}, output: {to: user}}
      - {id: to_csv, function: builtins.echo, args: {value: to_csv}, output: {to: user}}
      - {id: other, function: builtins.echo, args: {value: other}, output: {to: user}}
""")
    assert res.result == expected


def test_an_exists_condition_treats_missing_and_empty_values_as_absent(wfx: Executor) -> None:
    text = """
workflows:
  w:
    steps:
      - id: a
        function: builtins.echo
        args: {value: "${input}"}
        output: {to: {condition: {exists: "${a.output.email}", then: mail, else: skip}}}
      - {id: mail, function: builtins.echo, args: {value: mail}, output: {to: user}}
      - {id: skip, function: builtins.echo, args: {value: skip}, output: {to: user}}
"""
    assert wfx.run(input={"email": "a@b.c"}, workflow=text).result == "mail"
    assert wfx.run(input={"email": ""}, workflow=text).result == "skip"
    assert wfx.run(input={"name": "x"}, workflow=text).result == "skip"


def test_independent_depends_on_steps_run_concurrently_and_the_join_waits_for_both(wfx: Executor, log: str) -> None:
    res = wfx.run(input=None, workflow=f"""
workflows:
  w:
    steps:
      - {{id: left, function: engine_fns.barrier, args: {{log: "{log}", name: left, partner: right}}}}
      - {{id: right, function: engine_fns.barrier, args: {{log: "{log}", name: right, partner: left}}}}
      - id: join
        depends_on: [left, right]
        function: builtins.merge
        args: {{l: "${{left.output}}", r: "${{right.output}}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == {"l": "left", "r": "right"}
    assert order(res)[-1] == "join"


def test_a_fan_in_runs_once_after_every_started_branch_finished(wfx: Executor, log: str) -> None:
    res = wfx.run(input="a,b", workflow=f"""
workflows:
  w:
    steps:
      - {{id: start, function: builtins.split, args: {{text: "${{user_input}}", sep: ","}}, output: {{to: [b1, b2]}}}}
      - {{id: b1, function: engine_fns.slow_mark, args: {{log: "{log}", name: b1, seconds: 0.1}}, fan_key: k,
          output: {{to: join}}}}
      - {{id: b2, function: engine_fns.mark, args: {{log: "{log}", name: b2}}, fan_key: k, output: {{to: join}}}}
      - {{id: join, function: engine_fns.mark, args: {{log: "{log}", name: join, value: "${{branches}}"}},
          fan_key: k, is_fan_in: true, output: {{to: user}}}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == {"b1": "b1", "b2": "b2"}
    assert count(log, "join") == 1
    assert Path(log).read_text().splitlines()[-1] == "join"


def test_a_for_each_loop_runs_its_action_per_item_with_the_loop_variable(wfx: Executor) -> None:
    res = wfx.run(input={"xs": [1, 2, 3]}, workflow="""
workflows:
  w:
    steps:
      - id: each
        function: builtins.echo
        args: {value: "${loop.index}:${n}"}
        loop: {for_each: "${input.xs}", var: n}
""")
    assert res.result == ["0:1", "1:2", "2:3"]


def test_a_loop_with_more_items_than_its_max_fails_with_limit_exceeded(wfx: Executor) -> None:
    res = wfx.run(input={"xs": list(range(5))}, workflow="""
workflows:
  w:
    steps:
      - {id: each, function: builtins.echo, args: {value: "${item}"}, loop: {for_each: "${input.xs}", max: 3}}
""")
    assert res.status == ExecutionStatus.FAILED
    assert res.error is not None and res.error.code == "limit_exceeded" and res.error.step == "each"


def test_an_until_loop_repeats_its_body_until_the_condition_holds(wfx: Executor) -> None:
    res = wfx.run(workflow=Path("examples/validation_loop.yaml"), input={"record": {"name": "Ada"}})
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result["status"] == "accepted"
    assert res.result["record"] == {"name": "Ada", "email": "nobody@example.com", "country": "unknown"}


def test_an_until_condition_reads_the_loop_index_and_the_body_outputs(wfx: Executor) -> None:
    # the validator lets `until` name ${loop.index} and body steps; the engine must resolve them
    res = wfx.run(input=None, workflow="""
workflows:
  w:
    steps:
      - id: rounds
        loop:
          until: "${loop.index} >= 2 or ${mark.output} == 'stop'"
          max: 5
          body:
            - {id: mark, function: builtins.echo, args: {value: "round ${loop.index}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == "round 2"
    early = wfx.run(input="stop", workflow="""
workflows:
  w:
    steps:
      - id: rounds
        loop:
          until: "${mark.output} == 'stop'"
          max: 5
          body:
            - {id: mark, function: builtins.echo, args: {value: "${user_input}"}}
""")
    assert early.status == ExecutionStatus.COMPLETED, early.error
    assert early.steps["rounds"].attempts == 1


def test_a_failing_step_is_retried_with_exponential_backoff(tmp_path: Path, log: str) -> None:
    from executors import make_executor
    from workflow_executor.engine.clock import FakeClock

    wfx = make_executor(tmp_path, "memory")
    clock = FakeClock()
    wfx.engine.clock = clock
    res = wfx.run(input=None, workflow=f"""
workflows:
  w:
    steps:
      - id: flaky
        function: engine_fns.fail_until
        args: {{log: "{log}", name: flaky, successes_after: 3}}
        retry: {{max_attempts: 4, backoff_s: 0.5, max_backoff_s: 10}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == "ok after 3"
    assert res.steps["flaky"].attempts == 3
    assert clock.sleeps == [0.5, 1.0]


def test_retries_stop_after_max_attempts_and_the_step_error_is_kept(wfx: Executor, log: str) -> None:
    res = wfx.run(input=None, workflow=f"""
workflows:
  w:
    steps:
      - {{id: flaky, function: engine_fns.fail_until, args: {{log: "{log}", name: f, successes_after: 9}},
          retry: {{max_attempts: 2, backoff_s: 0}}}}
      - {{id: never, function: engine_fns.mark, args: {{log: "{log}", name: never}}}}
""")
    assert res.status == ExecutionStatus.FAILED
    assert res.steps["flaky"].attempts == 2 and res.steps["flaky"].status == StepStatus.FAILED
    assert res.error is not None and res.error.step == "flaky"
    assert count(log, "f") == 2 and count(log, "never") == 0


def test_a_step_over_its_timeout_fails_with_step_timeout(wfx: Executor) -> None:
    res = wfx.run(input=None, workflow="""
workflows:
  w:
    steps:
      - {id: slow, function: builtins.sleep, args: {seconds: 5}, timeout: 0.1}
""")
    assert res.status == ExecutionStatus.FAILED
    assert res.error is not None and res.error.code == "step_timeout"


def test_an_execution_over_its_timeout_ends_in_timeout(wfx: Executor) -> None:
    res = wfx.run(input=None, timeout=0.2, workflow="""
workflows:
  w:
    steps:
      - {id: quick, function: builtins.noop}
      - {id: slow, function: builtins.sleep, args: {seconds: 5}}
""")
    assert res.status == ExecutionStatus.TIMEOUT
    assert res.steps["quick"].status == StepStatus.COMPLETED


def test_cancelling_a_running_execution_stops_it_between_steps(wfx: Executor, tmp_path: Path, log: str) -> None:
    gate = tmp_path / "gate"
    started = wfx.start(input=None, workflow=f"""
workflows:
  w:
    steps:
      - {{id: first, function: engine_fns.mark, args: {{log: "{log}", name: first}}}}
      - {{id: wait, function: engine_fns.wait_for_file, args: {{path: "{gate}"}}}}
      - {{id: after, function: engine_fns.mark, args: {{log: "{log}", name: after}}}}
""")
    eventually(lambda: count(log, "first") == 1, what="first step")
    wfx.cancel(started.id)
    gate.touch()
    final = wfx.wait(started.id, timeout=10)
    assert final.status == ExecutionStatus.CANCELLED
    assert count(log, "after") == 0


def test_cancelling_a_queued_execution_cancels_it_at_once(wfx: Executor) -> None:
    queued = wfx.submit(workflow="workflows: {w: {steps: [{id: a, function: builtins.noop}]}}",
                        mode="async", dispatch=False)
    assert wfx.cancel(queued.id).status == ExecutionStatus.CANCELLED


def test_a_child_workflow_runs_as_its_own_execution_and_returns_its_result(wfx: Executor) -> None:
    res = wfx.run("parent", {"x": 2}, workflow="""
workflows:
  parent:
    steps:
      - {id: call, invoke_workflow: child, input: {y: "${input.x}"}}
      - {id: done, function: builtins.echo, args: {value: "child said ${call.output}"}}
  child:
    steps:
      - {id: c1, function: builtins.echo, args: {value: "${input.y}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == "child said 2"
    child = wfx.status(f"{res.id}.call")
    assert child.parent_id == res.id and child.depth == 1 and child.status == ExecutionStatus.COMPLETED


def test_children_nested_deeper_than_the_limit_fail_with_limit_exceeded(tmp_path: Path) -> None:
    from executors import make_executor

    wfx = make_executor(tmp_path, "memory", max_child_depth=2)
    res = wfx.run("a", None, workflow="""
workflows:
  a: {steps: [{id: s, invoke_workflow: b}]}
  b: {steps: [{id: s, invoke_workflow: c}]}
  c: {steps: [{id: s, invoke_workflow: d}]}
  d: {steps: [{id: s, function: builtins.noop}]}
""")
    assert res.status == ExecutionStatus.FAILED
    deepest = wfx.status(f"{res.id}.s.s")
    assert deepest.error is not None and deepest.error.code == "limit_exceeded"


def test_an_agent_step_without_a_model_fails_with_no_model_configured(wfx: Executor) -> None:
    res = wfx.run(workflow=Path("examples/llm_summary.yaml"), input="text")
    assert res.status == ExecutionStatus.FAILED
    assert res.error is not None and res.error.code == "no_model_configured"


def test_rerun_resumes_from_the_failed_step_without_repeating_finished_ones(wfx: Executor, tmp_path: Path,
                                                                          log: str) -> None:
    flag = tmp_path / "broken"
    flag.touch()
    text = f"""
workflows:
  w:
    steps:
      - {{id: one, function: engine_fns.mark, args: {{log: "{log}", name: one}}}}
      - {{id: two, function: engine_fns.fail_if, args: {{flag: "{flag}"}}}}
      - {{id: three, function: engine_fns.mark, args: {{log: "{log}", name: three, value: "${{two.output}}"}}}}
"""
    first = wfx.run(workflow=text)
    assert first.status == ExecutionStatus.FAILED and first.error is not None and first.error.step == "two"
    flag.unlink()
    second = wfx.rerun(first.id)
    assert second.status == ExecutionStatus.COMPLETED, second.error
    assert second.rerun_of == first.id and second.result == "passed"
    assert second.steps["one"].reused and not second.steps["two"].reused
    assert count(log, "one") == 1 and count(log, "three") == 1
    third = wfx.rerun(second.id, from_step="two")
    assert third.steps["one"].reused and count(log, "one") == 1 and count(log, "three") == 2


def test_an_idempotency_key_returns_the_first_execution_instead_of_running_again(wfx: Executor, log: str) -> None:
    text = f"workflows: {{w: {{steps: [{{id: a, function: engine_fns.mark, args: {{log: '{log}', name: a}}}}]}}}}"
    first = wfx.run(workflow=text, idempotency_key="k1")
    again = wfx.run(workflow=text, idempotency_key="k1")
    assert again.id == first.id and count(log, "a") == 1


def test_a_second_runner_cannot_run_an_execution_whose_lease_is_live(wfx: Executor) -> None:
    queued = wfx.submit(workflow="workflows: {w: {steps: [{id: a, function: builtins.noop}]}}",
                        mode="async", dispatch=False)
    wfx.store.acquire_lease(queued.id, "other-runner", 60, wfx.engine.clock.now())
    with pytest.raises(LeaseHeld):
        wfx.engine.run(queued.id)


def test_every_transition_and_step_is_published_as_an_event(wfx: Executor) -> None:
    seen: list[Event] = []
    lock = threading.Lock()

    def listen(e: Event) -> None:
        with lock:
            seen.append(e)

    wfx.services.events.subscribe(listen)  # type: ignore[attr-defined]
    two = "workflows: {w: {steps: [{id: a, function: builtins.noop}, {id: b, function: builtins.noop}]}}"
    res = wfx.run(workflow=two)
    types = [e.type for e in seen if e.execution_id == res.id]
    assert types == ["execution.queued", "execution.running", "step.completed", "step.completed",
                     "execution.completed"]


def test_a_function_outside_the_allowed_modules_is_rejected_before_anything_is_stored(wfx: Executor) -> None:
    before = len(wfx.workflows())
    with pytest.raises(SpecError) as err:
        wfx.run(workflow="workflows: {w: {steps: [{id: a, function: os.system, args: {command: 'true'}}]}}")
    assert err.value.issues[0].path == "workflows.w.steps[0].function"
    assert len(wfx.workflows()) == before
    assert wfx.executions().items == []


def test_an_env_reference_resolves_only_for_names_the_operator_allows(tmp_path: Path) -> None:
    from executors import make_executor

    wfx = make_executor(tmp_path, "memory", allowed_env=frozenset({"REGION"}))
    wfx.engine.config = type(wfx.engine.config)(allowed_env=frozenset({"REGION"}), environ={"REGION": "eu"})
    text = "workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: '${env.%s}'}}]}}"
    assert wfx.run(workflow=text % "REGION").result == "eu"
    with pytest.raises(SpecError):
        wfx.run(workflow=text % "HOME")


def test_cancelling_a_parent_stops_the_child_it_waits_for(wfx: Executor, tmp_path: Path, log: str) -> None:
    gate = tmp_path / "gate"
    started = wfx.start("parent", None, workflow=f"""
workflows:
  parent:
    steps:
      - {{id: call, invoke_workflow: child}}
      - {{id: after, function: engine_fns.mark, args: {{log: "{log}", name: parent_after}}}}
  child:
    steps:
      - {{id: first, function: engine_fns.mark, args: {{log: "{log}", name: child_first}}}}
      - {{id: wait, function: engine_fns.wait_for_file, args: {{path: "{gate}"}}}}
      - {{id: last, function: engine_fns.mark, args: {{log: "{log}", name: child_last}}}}
""")
    eventually(lambda: count(log, "child_first") == 1, what="the child's first step")
    wfx.cancel(started.id)
    gate.touch()
    assert wfx.wait(started.id, timeout=10).status == ExecutionStatus.CANCELLED
    # the parent is cancelled at once; the child stops at its next boundary
    eventually(lambda: wfx.status(f"{started.id}.call").status == ExecutionStatus.CANCELLED, what="child cancelled")
    assert count(log, "child_last") == 0 and count(log, "parent_after") == 0


def test_an_override_runs_a_variant_without_changing_what_the_name_means(wfx: Executor) -> None:
    wfx.register("workflows: {greet: {steps: [{id: a, function: builtins.echo, args: {value: hello}}]}}")
    variant = wfx.run("greet", config_override={"workflows.greet.steps": [
        {"id": "a", "function": "builtins.echo", "args": {"value": "bonjour"}}]})
    assert variant.result == "bonjour"
    assert wfx.run("greet").result == "hello"
    assert wfx.workflow("greet").hash != variant.workflow_hash
