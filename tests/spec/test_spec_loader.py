"""Normalisation: every accepted form becomes the same model; problems are collected together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workflow_executor.errors import SpecError
from workflow_executor.spec import document_hash, load_file, load_object, load_text
from workflow_executor.spec.model import IfCondition, RetryPolicy, SwitchCondition

STEPS = """
      - agent: writer
        input: ${user_input}
      - id: check
        function: builtins.len
        args: {obj: "${step_1.output}"}
        output: {to: user}
"""
CLASSIC = "agents: [{id: writer, model: m}]\nworkflows:\n  main_workflow:\n    - id: report\n      steps:" + STEPS
FLAT = "agents: {writer: {model: m}}\nworkflows:\n  report:\n    steps:" + STEPS
FLAT_LIST = "agents: [{id: writer, model: m}]\nworkflows:\n  report:" + STEPS.replace("      ", "    ")
LISTED = "agents: [{id: writer, model: m}]\nworkflows:\n  - id: report\n    steps:" + STEPS.replace("      ", "      ")


def test_all_workflow_forms_normalise_to_equal_models() -> None:
    docs = [load_text(t) for t in (CLASSIC, FLAT, FLAT_LIST, LISTED)]
    assert all(d == docs[0] for d in docs)
    assert len({document_hash(d) for d in docs}) == 1
    assert [s.id for s in docs[0].workflow("report").steps] == ["step_1", "check"]


def test_generated_ids_are_stable_and_avoid_written_ids() -> None:
    text = """
workflows:
  w:
    - function: f
    - {id: step_3, function: f}
    - function: f
    - function: f
      loop:
        for_each: [1]
        body: [{function: f}, {id: x, function: f}]
"""
    first = load_text(text).workflow("w")
    again = load_text(text).workflow("w")
    assert first == again
    assert [s.id for s in first.steps] == ["step_1", "step_3", "step_3_2", "step_4"]
    loop = first.steps[3].loop
    assert loop is not None
    assert [s.id for s in loop.body] == ["step_4_step_1", "x"]


def test_retry_as_a_number_counts_retries_and_as_a_mapping_is_a_policy() -> None:
    doc = load_text("workflows:\n  w:\n    - {function: f, retry: 2}\n"
                    "    - {function: f, retry: {max_attempts: 5, backoff_s: 0.5}}\n")
    steps = doc.workflow().steps
    assert steps[0].retry == RetryPolicy(max_attempts=3)
    assert steps[1].retry == RetryPolicy(max_attempts=5, backoff_s=0.5)


def test_output_forms_become_targets_and_conditions() -> None:
    doc = load_text("""
workflows:
  w:
    - {id: a, function: f, output: {to: [{step: b}, c]}}
    - {id: b, function: f, output: {to: {condition: {if: true, then: c, else: [user]}}}}
    - {id: c, function: f, output: {to: {condition: {switch: "${a.output}", cases: {1: b}, default: user}}}}
""")
    a, b, c = doc.workflow().steps
    assert a.output is not None and a.output.to == ["b", "c"]
    assert b.output is not None and b.output.condition == IfCondition(expr="true", then=["c"], otherwise=["user"])
    assert c.output is not None
    assert c.output.condition == SwitchCondition(expr="${a.output}", cases={"1": ["b"]}, default=["user"])


def test_langswarm_extras_are_accepted_and_dropped() -> None:
    doc = load_text("workflows:\n  w:\n    - {id: a, function: f, no_mcp: true, name: A}\n")
    assert doc.workflow().steps[0].id == "a"


def test_many_problems_are_collected_into_one_spec_error() -> None:
    with pytest.raises(SpecError) as err:
        load_text("""
bogus: 1
agents: [{model: m}]
workflows:
  w:
    - {id: a, function: f, timeout: 0, retry: -2, colour: red}
    - "not a step"
""", source="many.yaml")
    paths = {i.path for i in err.value.issues}
    assert {"agents[0].id", "workflows.w.steps[0].timeout", "workflows.w.steps[0].retry",
            "workflows.w.steps[1]"} <= paths
    assert all(i.file == "many.yaml" and i.fix for i in err.value.issues)
    # keys that LangSwarm ignores are warnings (carried on the error), never errors
    assert {w.path for w in err.value.warnings} == {"bogus", "workflows.w.steps[0].colour"}
    assert not paths & {"bogus", "workflows.w.steps[0].colour"}
    assert err.value.code == "invalid_workflow"


def test_pydantic_errors_become_issues_with_our_paths() -> None:
    with pytest.raises(SpecError) as err:
        load_text("agents: {a: {temperature: hot}}\ntools: [{id: t, type: [x]}]\nworkflows:\n  w: [{function: f}]\n")
    by_path = {i.path: i for i in err.value.issues}
    assert "agents.a.temperature" in by_path
    assert "tools.t.type" in by_path
    assert all(i.fix for i in err.value.issues)


def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    for text in ("- a\n- b\n", "just text", ""):
        with pytest.raises(SpecError) as err:
            load_text(text)
        assert err.value.issues[0].path == "<document>"


def test_missing_workflows_are_reported() -> None:
    with pytest.raises(SpecError) as err:
        load_text("agents: []\n")
    assert err.value.issues[0].path == "workflows"


def test_load_object_accepts_parsed_json() -> None:
    obj = json.loads('{"workflows": {"w": {"steps": [{"id": "a", "function": "f"}]}}, "version": 2}')
    doc = load_object(obj, source="api")
    assert doc.version == "2"
    assert doc.workflow("w").step("a").function == "f"


def test_load_file_uses_the_path_as_the_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflows:\n  w: [{id: a, function: f, timeout: -1}]\n")
    with pytest.raises(SpecError) as err:
        load_file(bad)
    assert err.value.issues[0].file == str(bad)


def test_a_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        load_file(tmp_path / "nope.yaml")


def test_the_document_hash_changes_with_the_content() -> None:
    a = load_text("workflows:\n  w: [{id: a, function: f}]\n")
    b = load_text("workflows:\n  w: [{id: a, function: g}]\n")
    assert document_hash(a) != document_hash(b)
    assert len(document_hash(a)) == 64
