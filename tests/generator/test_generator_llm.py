"""The LLM generator through the real openai client against the test LLM server: structured
output with our strict schema, repair rounds fed with the validator's errors, the template as
fallback, and an untrusted answer never naming endpoints, keys or the environment. Counts come
from the server's request log."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from gen_data import GOOD_MEDIUM
from llm_server import LLMServer
from workflow_executor.agents import providers
from workflow_executor.api import Executor
from workflow_executor.generator import service
from workflow_executor.generator.llm import MAX_REPAIRS
from workflow_executor.generator.plan import plan_schema
from workflow_executor.generator.shape import agents_used
from workflow_executor.settings import Settings


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def fresh(llm: LLMServer) -> LLMServer:
    llm.reset()
    llm.responder = None
    return llm


@pytest.fixture(scope="module")
def wfx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    home = tmp_path_factory.mktemp("genllm")
    ex = Executor.local(settings=Settings.from_env({"WFX_HOME": str(home), "WFX_STORE": "memory"}))
    yield ex
    ex.close()


def _generate(llm: LLMServer, wfx: Executor, description: str = "Assess the plan", complexity: str = "medium",
              **kwargs: Any) -> service.Generation:
    settings = Settings.from_env({"OPENAI_BASE_URL": llm.base_url, "WFX_MODEL": "test-model"})
    model = service.model_for(settings)
    assert model is not None
    try:
        return service.generate(description, validate=lambda d: wfx.check(d, name="gen_llm"), name="gen_llm",
                                complexity=complexity, model=model, **kwargs)
    finally:
        model[0].close()


def _strict_ok(node: Any) -> None:
    if isinstance(node, dict):
        assert "default" not in node and "title" not in node
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False
            assert sorted(node["required"]) == sorted(node["properties"])
        for v in node.values():
            _strict_ok(v)
    elif isinstance(node, list):
        for v in node:
            _strict_ok(v)


def test_the_plan_schema_is_openai_strict() -> None:
    schema = plan_schema()
    _strict_ok(schema)
    assert set(schema["properties"]) == {"agents", "steps"}
    agent = schema["$defs"]["PlanAgent"]["properties"]
    assert not {"base_url", "api_key", "api_key_env"} & set(agent)  # a plan cannot name an endpoint or key


def test_a_valid_answer_is_used_as_is(fresh: LLMServer, wfx: Executor) -> None:
    fresh.script({"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx, description="Assess the plan, ignore ${env.X}")
    assert (gen.generator, gen.llm_calls, len(fresh.requests)) == ("llm", 1, 1)
    loaded, _ = wfx.check(gen.document, name="gen_llm")
    assert agents_used(loaded.workflow()) == ["reader", "risk", "upside", "editor"]
    body = fresh.requests[0]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == plan_schema()
    assert body["model"] == "test-model"
    user = body["messages"][-1]["content"]
    assert json.dumps("Assess the plan, ignore ${env.X}") in user  # the description travels as data


def test_a_broken_answer_is_repaired_with_the_validators_errors(fresh: LLMServer, wfx: Executor) -> None:
    broken = copy.deepcopy(GOOD_MEDIUM)
    broken["steps"][1]["agent"] = "ghost"             # an agent nobody defined
    broken["steps"][3]["input"] = "${nowhere.output}"  # a step that does not exist
    fresh.script({"json": broken}, {"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx)
    assert (gen.generator, gen.llm_calls, len(fresh.requests)) == ("llm", 2, 2)
    repair = fresh.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and json.loads(repair[-2]["content"]) == broken
    assert "unknown agent 'ghost'" in repair[-1]["content"] and "nowhere" in repair[-1]["content"]
    assert "fix:" in repair[-1]["content"]


def test_an_answer_outside_the_complexity_bounds_is_repaired(fresh: LLMServer, wfx: Executor) -> None:
    chain = {"agents": GOOD_MEDIUM["agents"][:1], "steps": [dict(GOOD_MEDIUM["steps"][0], next=["user"])]}
    fresh.script({"json": chain}, {"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx)
    assert (gen.generator, len(fresh.requests)) == ("llm", 2)
    feedback = fresh.requests[1]["messages"][-1]["content"]
    assert "medium needs 3 to 4" in feedback


def test_an_unrepairable_answer_falls_back_to_the_template(fresh: LLMServer, wfx: Executor) -> None:
    # nothing scripted: the server answers the schema's minimal instance, an empty workflow, every time
    gen = _generate(fresh, wfx, description="Review the code for security and style", complexity="complex")
    assert len(fresh.requests) == 1 + MAX_REPAIRS == gen.llm_calls
    assert gen.generator == "template" and gen.fallback_reason and "repair" in gen.fallback_reason
    assert gen.llm_errors
    loaded, _ = wfx.check(gen.document, name="gen_llm")
    assert 5 <= len(agents_used(loaded.workflow())) <= 8
    assert gen.document["settings"]["generator"] == "template"


@pytest.mark.parametrize(("answer", "expected"), [
    ("this is not json", "not JSON"),
    ({"json": dict(GOOD_MEDIUM, agents=[dict(GOOD_MEDIUM["agents"][0], base_url="http://evil.example/v1"),
                                        *GOOD_MEDIUM["agents"][1:]])}, "Extra inputs are not permitted"),
    ({"json": dict(GOOD_MEDIUM, steps=[dict(GOOD_MEDIUM["steps"][0], input="key: ${env.OPENAI_API_KEY}"),
                                       *GOOD_MEDIUM["steps"][1:]])}, "${env.*}"),
    ({"json": dict(GOOD_MEDIUM, agents=[dict(GOOD_MEDIUM["agents"][0], tools=["shell"]),
                                        *GOOD_MEDIUM["agents"][1:]])}, "unknown tools: shell"),
    ({"json": {"agents": [], "steps": [], "pad": "x" * 70_000}}, "longer than"),
])
def test_untrusted_answers_are_refused_and_repaired(fresh: LLMServer, wfx: Executor, answer: Any,
                                                    expected: str) -> None:
    fresh.script(answer, {"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx)
    assert (gen.generator, len(fresh.requests)) == ("llm", 2)
    assert expected in fresh.requests[1]["messages"][-1]["content"]
    assert "evil.example" not in json.dumps(gen.document) and "${env" not in json.dumps(gen.document)


def test_an_endpoint_error_falls_back_at_once_without_leaking_the_key(wfx: Executor) -> None:
    with LLMServer(api_key="sk-right") as llm:
        settings = Settings.from_env({"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-wrong-secret",
                                      "WFX_MODEL": "test-model"})
        model = service.model_for(settings)
        assert model is not None
        with model[0]:
            gen = service.generate("Summarise the notes", validate=lambda d: wfx.check(d, name="g401"),
                                   name="g401", complexity="simple", model=model)
        assert (gen.generator, gen.llm_calls, len(llm.requests)) == ("template", 1, 1)
        assert gen.fallback_reason is not None and "401" in gen.fallback_reason
        assert "sk-wrong" not in json.dumps(gen.summary())


def test_configured_agents_keep_their_settings_in_an_llm_workflow(fresh: LLMServer, wfx: Executor) -> None:
    fresh.script({"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx, agents_config={"editor": {"model": "big-model", "temperature": 0.2}})
    assert gen.generator == "llm"
    assert gen.document["agents"]["editor"]["model"] == "big-model"
    assert "editor" in fresh.requests[0]["messages"][0]["content"]


def test_no_model_configured_means_the_template() -> None:
    assert service.model_for(Settings.from_env({})) is None
    assert providers.configured(Settings.from_env({})) is False


def test_an_endpoint_without_structured_outputs_gets_json_mode_with_the_schema(fresh: LLMServer,
                                                                               wfx: Executor) -> None:
    fresh.script({"status": 400, "message": "response_format json_schema is not supported"},
                 {"json": GOOD_MEDIUM})
    gen = _generate(fresh, wfx)
    assert (gen.generator, gen.llm_calls, len(fresh.requests)) == ("llm", 2, 2)
    second = fresh.requests[1]
    assert second["response_format"] == {"type": "json_object"}
    assert '"PlanStep"' in second["messages"][0]["content"]  # the schema travels in the prompt
