"""The execution graph (shared with the engine) and the graph-level validation rules."""

from __future__ import annotations

import pytest
from workflow_executor.errors import SpecError
from workflow_executor.spec import check, graph, load_text, validate
from workflow_executor.spec.model import Workflow


def wf(text: str) -> Workflow:
    return load_text(text).workflow()


def test_a_workflow_without_routing_is_a_chain_in_list_order() -> None:
    g = graph(wf("workflows:\n  w:\n    - {id: a, function: f}\n    - {id: b, function: f}\n"
                 "    - {id: c, function: f, output: {to: user}}\n"))
    assert g.chain
    assert g.entries == ("a",)
    assert g.successors == {"a": ("b",), "b": ("c",)}
    assert g.ancestors("c") == {"a", "b"}
    assert g.ancestors("a") == frozenset()


def test_output_routing_makes_a_graph_that_starts_at_the_first_step() -> None:
    g = graph(wf("""
workflows:
  w:
    - {id: a, function: f, output: {to: {condition: {if: "true", then: c, else: [b, user]}}}}
    - {id: b, function: f, output: {to: c}}
    - {id: c, function: f}
"""))
    assert not g.chain
    assert g.entries == ("a",)
    assert g.successors == {"a": ("c", "b"), "b": ("c",), "c": ()}
    assert g.ancestors("c") == {"a", "b"}
    assert g.ancestors("b") == {"a"}


def test_a_depends_on_dag_starts_every_step_without_incoming_edges() -> None:
    g = graph(wf("""
workflows:
  w:
    - {id: a, function: f}
    - {id: b, function: f}
    - {id: c, function: f, depends_on: [a, b]}
    - {id: d, function: f, depends_on: c}
"""))
    assert not g.chain
    assert g.entries == ("a", "b")
    assert g.depends == {"c": ("a", "b"), "d": ("c",)}
    assert g.ancestors("d") == {"a", "b", "c"}


def test_fan_in_steps_wait_for_their_branches() -> None:
    g = graph(wf("""
workflows:
  w:
    - {id: s, function: f, output: {to: [x, y]}}
    - {id: x, function: f, fan_key: k}
    - {id: y, function: f, fan_key: k}
    - {id: j, function: f, fan_key: k, is_fan_in: true}
"""))
    assert g.branches == {"k": ("x", "y")}
    assert g.fan_ins == {"k": "j"}
    assert g.ancestors("j") == {"s", "x", "y"}
    assert g.reachable() == {"s", "x", "y", "j"}


def test_a_step_nothing_routes_to_is_a_warning_not_an_error() -> None:
    doc = load_text("""
workflows:
  w:
    - {id: a, function: f, output: {to: user}}
    - {id: b, function: f, output: {to: c}}
    - {id: c, function: f}
""")
    report = check(doc)
    assert report.ok
    assert [w.path for w in report.warnings] == ["workflows.w.steps[1]", "workflows.w.steps[2]"]
    assert all(w.severity == "warning" for w in report.warnings)


def test_validate_raises_one_spec_error_with_every_problem_and_the_warnings() -> None:
    doc = load_text("""
workflows:
  w:
    - {id: a, agent: ghost, output: {to: nowhere}}
    - {id: a, tool: hammer}
    - {id: c, function: f, input: "${zzz}"}
""")
    with pytest.raises(SpecError) as err:
        validate(doc, source="w.yaml")
    paths = [i.path for i in err.value.issues]
    assert {"workflows.w.steps[0].agent", "workflows.w.steps[0].output.to", "workflows.w.steps[1].id",
            "workflows.w.steps[1].tool", "workflows.w.steps[2].input"} <= set(paths)
    assert [w.path for w in err.value.warnings] == ["workflows.w.steps[2]"]
    assert all(i.file == "w.yaml" for i in err.value.issues)


def test_validate_returns_the_report_when_there_are_no_errors() -> None:
    report = validate(load_text("workflows:\n  w: [{id: a, function: f}]\n"))
    assert report.ok


def test_too_many_steps_and_too_wide_a_fan_out_are_errors() -> None:
    targets = ", ".join(f"s{i}" for i in range(70))
    steps = "\n".join(f"    - {{id: s{i}, function: f}}" for i in range(70))
    doc = load_text(f"workflows:\n  w:\n    - {{id: a, function: f, output: {{to: [{targets}]}}}}\n{steps}\n")
    paths = {i.path for i in check(doc, max_steps=50).errors}
    assert paths == {"workflows.w.steps", "workflows.w.steps[0].output.to"}


def test_allowed_env_names_and_known_workflows_are_accepted() -> None:
    doc = load_text("workflows:\n  w:\n    - {id: a, invoke_workflow: other, input: '${env.REGION}'}\n")
    assert {i.path for i in check(doc).errors} == {"workflows.w.steps[0].invoke_workflow",
                                                   "workflows.w.steps[0].input"}
    assert check(doc, known_workflow=lambda n: n == "other", allowed_env=frozenset({"REGION"})).ok
