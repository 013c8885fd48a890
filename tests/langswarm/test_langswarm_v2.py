"""LangSwarm V2 step syntax (``type: agent | tool | condition | transform``, ``dependencies``,
``true_step`` / ``false_step``): loaded, validated, and run end to end on the embedded SQLite
store with the product's agent runner (the real ``openai`` client) against the test LLM server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.models import StepStatus
from workflow_executor.settings import Settings
from workflow_executor.spec.loader import load_object, load_text

MIRROR = Path("/work/.mirror/aekdahl+LangSwarm/repo")
BIGQUERY_TEST = "langswarm/test_configs/bigquery_test.yaml"

V2_DOC = """
version: "2.0"
project_name: V2 steps
agents:
  - id: writer
    model: test-model
    system_prompt: You write.
    observability: {enable_tracing: true}
  - id: helper
    model: test-model
    system_prompt: You ask for input.
tools:
  - id: stamp
    function: builtins.echo
workflows:
  - id: v2_flow
    name: V2 flow
    max_steps: 10
    max_parallel_steps: 2
    variables: {tone: dry}
    config: {timeout_seconds: 120, error_strategy: continue}
    steps:
      - id: validate_input
        type: condition
        condition: "${input} != null and ${input} != ''"
        true_step: draft
        false_step: ask
        metadata: {description: the input is there}
      - id: ask
        type: agent
        agent_id: helper
        input_template: "Please provide a topic."
        depends_on: []
      - id: draft
        type: agent
        agent_id: writer
        input_template: "Draft about ${input}"
        depends_on: [validate_input]
      - id: stamped
        type: tool
        tool: stamp
        parameters: {value: "${draft}"}
        dependencies: draft
        timeout: 30
        retries: 1
      - id: review
        type: agent
        agent: writer
        input: "Review: ${stamped}"
        dependencies: [stamped]
      - id: as_json
        type: transform
        transform: to_json
        input_source: review
        dependencies: [review]
      - id: size
        type: transform
        transform: length
        source: as_json
        dependencies: [as_json]
"""


@pytest.fixture
def wfx(tmp_path: Path, llm: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Executor]:
    """The embedded default (SQLite under WFX_HOME), not conftest's memory store; ``llm`` is conftest's."""
    env = {"WFX_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm.base_url,
           "WFX_MODEL": "test-model"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = Settings.from_env(env)
    assert settings.store == "sqlite"
    ex = Executor.local(settings=settings)
    assert ex.engine.agents is not None
    yield ex
    ex.close()


def _register(wfx: Executor, tmp_path: Path, text: str) -> None:
    path = tmp_path / "v2.yaml"
    path.write_text(text)
    wfx.check(path)
    wfx.register(path)


def _prompts(llm: LLMServer) -> list[str]:
    return [str(r["messages"][-1]["content"]) for r in llm.requests]


def test_a_v2_document_loads_each_step_type_onto_our_steps() -> None:
    notes: list = []
    wf = load_text(V2_DOC, warnings=notes).workflow("v2_flow")
    cond = wf.step("validate_input")
    assert cond.function == "noop" and cond.output is not None and cond.output.condition is not None
    assert cond.output.condition.then == ["draft"] and cond.output.condition.otherwise == ["ask"]
    assert cond.condition is None  # the expression routes; it does not guard the step
    assert wf.step("ask").agent == "helper" and wf.step("ask").input == "Please provide a topic."
    # the branch's dependency on its condition is the route itself (else both branches would start)
    assert wf.step("draft").depends_on == ()
    stamped = wf.step("stamped")
    assert stamped.tool == "stamp" and stamped.params == {"value": "${draft}"}
    assert stamped.depends_on == ("draft",) and stamped.retry is not None and stamped.retry.max_attempts == 2
    assert wf.step("as_json").function == "transform"
    assert wf.step("as_json").args == {"value": "${review}", "using": "to_json"}
    assert wf.step("size").args == {"value": "${as_json}", "using": "length"}
    warned = {n.path.rsplit(".", 1)[-1] for n in notes}
    assert {"max_parallel_steps", "variables", "metadata", "observability", "name", "config"} <= warned
    assert wf.timeout == 120  # config.timeout_seconds is the run's timeout
    again = load_object(load_text(V2_DOC).model_dump(mode="json"))  # the dump loads unchanged
    assert again.workflow("v2_flow") == wf


def test_the_true_branch_runs_in_dependency_order_and_the_transforms_give_their_outputs(
        wfx: Executor, llm: LLMServer, tmp_path: Path) -> None:
    _register(wfx, tmp_path, V2_DOC)
    llm.script("a draft", "looks good")
    run = wfx.run("v2_flow", "penguins")
    assert run.status.value == "completed", run.error
    done = {s: r for s, r in run.steps.items() if r.status == StepStatus.COMPLETED}
    assert set(done) == {"validate_input", "draft", "stamped", "review", "as_json", "size"}
    assert "ask" not in run.steps
    order = sorted(done, key=lambda s: done[s].seq)
    assert order == ["validate_input", "draft", "stamped", "review", "as_json", "size"]
    assert _prompts(llm) == ["Draft about penguins", "Review: a draft"]
    assert done["as_json"].output == '"looks good"'
    assert done["size"].output == len('"looks good"')
    assert run.result == len('"looks good"')


def test_the_false_branch_runs_only_its_own_step(wfx: Executor, llm: LLMServer, tmp_path: Path) -> None:
    _register(wfx, tmp_path, V2_DOC)
    llm.script("what topic?")
    run = wfx.run("v2_flow", "")
    assert run.status.value == "completed", run.error
    assert run.steps["ask"].status == StepStatus.COMPLETED
    assert not {"draft", "stamped", "review", "as_json", "size"} & set(run.steps)
    assert _prompts(llm) == ["Please provide a topic."]
    assert run.result == "what topic?"


def test_a_transform_written_as_a_template_renders_it(wfx: Executor, llm: LLMServer, tmp_path: Path) -> None:
    doc = """
workflows:
  t:
    steps:
      - {id: first, type: transform, transform: identity}
      - {id: second, type: transform, transform: "got ${first}", dependencies: [first]}
"""
    _register(wfx, tmp_path, doc)
    run = wfx.run("t", "x")
    assert run.status.value == "completed", run.error
    assert run.steps["first"].output == "x" and run.result == "got x"


def _issues(text: str) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as err:
        load_text(text)
    assert err.value.code == "invalid_workflow"
    return [(i.path, i.message) for i in err.value.issues]


def _one_step(step: str) -> str:
    return f"""
agents: [{{id: a}}]
workflows:
  w:
    steps:
      - {step}
      - {{id: hit, agent: a}}
      - {{id: miss, agent: a}}
"""


def test_a_true_step_naming_an_unknown_step_is_a_validation_error_at_true_step() -> None:
    issues = _issues(_one_step('{id: c, type: condition, condition: "${input} == 1", true_step: nope, '
                               'false_step: miss}'))
    assert [p for p, _ in issues] == ["workflows.w.steps[0].true_step"]
    assert "'nope'" in issues[0][1] and "'c'" in issues[0][1]


def test_if_true_and_if_false_are_read_as_the_branches() -> None:
    wf = load_text(_one_step('{id: c, condition: "${input} == 1", if_true: hit, if_false: miss}')).workflow()
    cond = wf.step("c").output.condition  # type: ignore[union-attr]
    assert cond.then == ["hit"] and cond.otherwise == ["miss"]  # type: ignore[union-attr]


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "${input} ==", "[x for x in ${input}]",
                                  "lambda: 1"])
def test_a_condition_the_evaluator_cannot_read_is_a_validation_error_naming_the_step(expr: str) -> None:
    issues = _issues(_one_step(f'{{id: c, type: condition, condition: "{expr}", true_step: hit}}'))
    assert [p for p, _ in issues] == ["workflows.w.steps[0].condition"]
    assert "condition step 'c'" in issues[0][1]


@pytest.mark.parametrize(("step", "path"), [
    ("{id: c, type: magic, agent: a}", "workflows.w.steps[0].type"),
    ("{id: c, type: parallel}", "workflows.w.steps[0].type"),
    ("{id: c, type: tool, agent: a}", "workflows.w.steps[0].type"),
    ("{id: c, type: transform, transform: 'lambda x, ctx: x.upper()'}", "workflows.w.steps[0].transform"),
    ("{id: c, type: condition, condition: 'true'}", "workflows.w.steps[0].true_step"),
])
def test_an_unknown_type_or_code_in_a_step_is_a_validation_error_naming_the_step(step: str, path: str) -> None:
    issues = _issues(_one_step(step))
    assert path in [p for p, _ in issues]
    assert any("'c'" in m for p, m in issues if p == path)


def test_max_steps_below_the_step_count_is_refused() -> None:
    issues = _issues("agents: [{id: a}]\nworkflows:\n  w:\n    max_steps: 1\n    steps: [{agent: a}, {agent: a}]\n")
    assert [p for p, _ in issues] == ["workflows.w.max_steps"]


def _mirror_file() -> str | None:
    if not (MIRROR / "HEAD").exists():
        return None
    got = subprocess.run(["git", "-C", str(MIRROR), "show", f"HEAD:{BIGQUERY_TEST}"], capture_output=True,
                         text=True, timeout=30, check=False)
    return got.stdout if got.returncode == 0 else None


def test_langswarms_own_v2_bigquery_test_file_loads_as_a_routed_workflow(wfx: Executor, tmp_path: Path) -> None:
    text = _mirror_file()
    if text is None:
        pytest.skip(f"the LangSwarm mirror at {MIRROR} (with {BIGQUERY_TEST}) is not on this machine")
    notes: list = []
    doc = load_text(text, warnings=notes)
    assert doc.agents["bigquery_v2_agent"].temperature == 0.1  # its V2 config: {temperature} is honoured
    assert doc.agents["bigquery_v2_agent"].timeout == 30
    assert any(n.path.endswith("steps[3].transform_function") for n in notes)
    wf = doc.workflow()
    cond = wf.step("validate_input").output.condition  # type: ignore[union-attr]
    assert cond.expr == "${input} != null and ${input} != ''"  # type: ignore[union-attr]
    assert cond.then == ["process_query"] and cond.otherwise == ["request_input"]  # type: ignore[union-attr]
    assert wf.step("process_query").agent == "bigquery_v2_agent" and wf.step("process_query").input == "${input}"
    assert wf.step("format_results").function == "transform"
    assert wf.step("format_results").depends_on == ("process_query",)
    assert wf.timeout == 300
    # validation: nothing in its workflows or agents is refused (its tool's config is the tool's matter)
    path = tmp_path / "bigquery_test.yaml"
    path.write_text(text)
    try:
        wfx.check(path)
    except SpecError as err:
        assert all(i.path.startswith("tools.") for i in err.issues), [str(i) for i in err.issues]


def test_a_step_depending_on_both_branches_of_a_condition_is_warned_that_it_never_runs() -> None:
    notes: list = []
    load_text(_one_step('{id: c, type: condition, condition: "${input} == 1", true_step: hit, false_step: miss}')
              + "      - {id: join, agent: a, dependencies: [hit, miss]}\n", warnings=notes)
    assert [n.path for n in notes if "never runs" in n.message] == ["workflows.w.steps[3].depends_on"]
