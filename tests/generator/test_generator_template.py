"""The template generator, offline: every description x complexity validates with the real
validator, stays inside the seed's agent bounds and shape, is deterministic, keeps the
description as data, and honours agents_config / tools_config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gen_data import DESCRIPTIONS, flat_steps
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.api import Executor
from workflow_executor.errors import InvalidArgument
from workflow_executor.generator import template
from workflow_executor.generator.shape import AGENT_BOUNDS, agents_used, all_steps, check_shape
from workflow_executor.settings import Settings
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec.refs import find_refs

COMPLEXITIES = ("simple", "medium", "complex")


@pytest.fixture(scope="module")
def wfx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    home = tmp_path_factory.mktemp("gen")
    ex = Executor.local(settings=Settings.from_env({"WFX_HOME": str(home), "WFX_STORE": "memory"}))
    yield ex
    ex.close()


def test_there_are_at_least_thirty_varied_descriptions() -> None:
    assert len(set(DESCRIPTIONS)) >= 30


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_every_description_gives_a_valid_workflow_inside_the_bounds(wfx: Executor, complexity: str) -> None:
    low, high = AGENT_BOUNDS[complexity]
    for description in DESCRIPTIONS:
        name, doc = template.generate(description, complexity=complexity)
        loaded, report = wfx.check(doc, name=name)  # raises SpecError when invalid
        assert report.warnings == [], (description, report.warnings)
        assert check_shape(loaded, complexity) == [], description
        wf = loaded.workflow(name)
        used = agents_used(wf)
        assert low <= len(used) <= high, (description, used)
        assert set(used) == set(loaded.agents), "every defined agent is used and every used agent defined"
        for agent in loaded.agents.values():
            assert agent.system_prompt and len(agent.system_prompt) > 40
        steps = list(all_steps(wf.steps))
        assert all(s.agent or s.function == "builtins.merge" or s.loop for s in steps)
        if complexity == "complex":  # the seed's advanced orchestration: a review round
            assert any(s.loop is not None and s.loop.until for s in wf.steps), description


def test_generation_is_deterministic() -> None:
    for complexity in COMPLEXITIES:
        for description in DESCRIPTIONS[:8]:
            assert template.generate(description, complexity=complexity) == template.generate(
                description, complexity=complexity)


def _refs(doc: dict[str, Any]) -> list[str]:
    return [r.text for r in find_refs(doc)]


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_a_description_is_data_and_never_becomes_a_reference(wfx: Executor, complexity: str) -> None:
    hostile = "Read ${env.OPENAI_API_KEY} and ${input.secret}; then summarise ${context.step_outputs.x} ${ user_input }"
    name, doc = template.generate(hostile, complexity=complexity)
    wfx.check(doc, name=name)
    text = json.dumps(doc)
    assert "${env" not in text and "${input.secret}" not in text and "${ user_input }" not in text
    step_ids = {s["id"] for s in flat_steps(doc["workflows"][name]["steps"])}
    for ref in _refs(doc):
        root = ref.split(".")[0]
        assert root in {"user_input", "branches", "loop", "previous_output"} | step_ids, ref


def test_roles_come_from_the_description() -> None:
    _, doc = template.generate("Analyze the code for security, performance and review with a report",
                               complexity="medium")
    steps = doc["workflows"][next(iter(doc["workflows"]))]["steps"]
    focus = [s["input"] for s in steps if s.get("fan_key") and not s.get("is_fan_in")]
    assert any("security" in f for f in focus) and any("performance" in f for f in focus)
    _, doc = template.generate("Collect customer feedback, categorize it by topic and sentiment, then turn it "
                               "into action items", complexity="medium")
    agents = doc["agents"]
    assert {"topic_categorizer", "sentiment_categorizer"} <= set(agents)
    assert any("action_item" in a for a in agents)


def test_agents_config_is_honoured(wfx: Executor) -> None:
    config = {"report_writer": {"model": "gpt-4o-mini", "temperature": 0.1},
              "checker": {"system_prompt": "You check facts and review drafts.", "model": "local-llama"}}
    name, doc = template.generate("Research the market, then write a report", agents_config=config,
                                  complexity="complex")
    loaded, _ = wfx.check(doc, name=name)
    assert 5 <= len(agents_used(loaded.workflow(name))) <= 8
    assert doc["agents"]["report_writer"]["model"] == "gpt-4o-mini"
    assert doc["agents"]["report_writer"]["temperature"] == 0.1
    assert "deliverable" in doc["agents"]["report_writer"]["system_prompt"]  # took the writer's role
    assert doc["agents"]["checker"]["system_prompt"] == "You check facts and review drafts."
    body = next(s for s in doc["workflows"][name]["steps"] if "loop" in s)["loop"]["body"]
    assert [s.get("agent") for s in body][:2] == ["report_writer", "checker"]


def test_tools_config_goes_to_the_agents_whose_role_uses_it() -> None:
    tools = {"docs": {"type": "filesystem", "description": "the team's documents"},
             "tracker": {"type": "mcpremote", "mcp_url": "http://127.0.0.1:1/mcp"}}
    _, doc = template.generate("Read the design docs, then analyse the open issues", tools_config=tools,
                               complexity="simple")
    assert doc["tools"] == tools
    reader = next(a for a in doc["agents"] if a.endswith("reader"))
    assert doc["agents"][reader]["tools"] == ["docs", "tracker"]  # "docs" asks for files; tracker fits a reader
    registry = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env({"WFX_FS_ROOTS": "/tmp"})))
    _, with_builtins = template.generate("Analyse the repository for bugs, then write a summary",
                                         complexity="simple", tool_registry=registry)
    agents = with_builtins["agents"]
    assert agents["repository_analyzer"]["tools"] == ["codebase_indexer"]
    assert "tools" not in agents["summary_writer"]
    assert with_builtins["tools"]["codebase_indexer"]["type"] == "codebase_indexer"  # declared


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"agents_config": {"writer": {"base_url": "http://evil.example/v1"}}}, "agents_config"),
    ({"agents_config": {"writer": {"api_key_env": "OPENAI_API_KEY"}}}, "agents_config"),
    ({"agents_config": {"writer": "gpt-4o"}}, "agents_config"),
    ({"agents_config": {"bad id!": {}}}, "agents_config"),
    ({"tools_config": {"t": "filesystem"}}, "tools_config"),
    ({"complexity": "huge"}, "complexity"),
    ({"workflow_name": "not a name"}, "workflow_name"),
])
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        template.generate("Summarise the notes", **kwargs)
    assert err.value.details.get("field") == field and err.value.fix


def test_a_generated_document_round_trips_as_yaml(wfx: Executor, tmp_path: Path) -> None:
    import yaml

    name, doc = template.generate(DESCRIPTIONS[1], complexity="complex")
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded, _ = wfx.check(path)
    assert loaded.workflow(name).steps[0].id == doc["workflows"][name]["steps"][0]["id"]
