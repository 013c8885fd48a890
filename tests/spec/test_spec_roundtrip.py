"""Property: the normalised dump (what the registry stores) loads back unchanged, for every
example and fixture, and a stored workflow validates and runs with a config_override."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.spec import check, document_hash, load_object, load_path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [*ROOT.glob("examples/*.yaml"), *ROOT.glob("tests/**/*.yaml")], key=lambda p: p.as_posix())


def loadable() -> list[Path]:
    out = []
    for p in SOURCES:
        try:
            load_path(p)
        except SpecError:
            continue
        out.append(p)
    return out


LOADABLE = loadable()


def test_there_are_examples_and_fixtures_to_round_trip() -> None:
    assert len(LOADABLE) >= 25
    assert any("examples" in p.parts for p in LOADABLE)


@pytest.mark.parametrize("path", LOADABLE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_normalised_dump_loads_back_unchanged(path: Path) -> None:
    doc = load_path(path)
    dumped = doc.model_dump(mode="json")
    notes: list[Any] = []
    again = load_object(dumped, source="<dump>", warnings=notes)
    assert again == doc
    assert again.model_dump(mode="json") == dumped
    assert document_hash(again) == document_hash(doc)
    assert notes == []  # the dump carries no key that the loader would have to ignore
    before = check(doc)
    after = check(again)
    assert [i.path for i in after.errors] == [i.path for i in before.errors]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LOADABLE), st.data())
def test_a_dump_with_any_workflow_replaced_by_another_dumped_workflow_still_loads(
        path: Path, data: st.DataObject) -> None:
    # Mixing dumped parts (as config_override does) must load as long as the parts are dumps.
    doc = load_path(path).model_dump(mode="json")
    donor_path = data.draw(st.sampled_from(LOADABLE))
    donor = load_path(donor_path).model_dump(mode="json")
    name = data.draw(st.sampled_from(sorted(doc["workflows"])))
    donor_wf = donor["workflows"][data.draw(st.sampled_from(sorted(donor["workflows"])))]
    doc["workflows"][name] = {**donor_wf, "id": name}
    doc["agents"] = {**donor["agents"], **doc["agents"]}
    doc["tools"] = {**donor["tools"], **doc["tools"]}
    again = load_object(doc)
    assert again.model_dump(mode="json") == load_object(again.model_dump(mode="json")).model_dump(mode="json")


def test_a_stored_workflow_validates_by_name_and_runs_with_a_config_override(tmp_path: Path) -> None:
    with Executor.local(home=tmp_path, memory=True) as ex:
        ex.register(ROOT / "examples" / "fan_out.yaml")
        stored = ex.workflow("fan_out")
        doc, report = ex.check(stored.document, name="fan_out")  # the normalised copy
        assert report.ok and "fan_out" in doc.workflows
        run = ex.run("fan_out", "a,b,c", config_override={"description": "override"})
        assert run.status.value == "completed", run.error
        # a step-level override reaches the run (and the dump keeps loading)
        run = ex.run("fan_out", "x,y", config_override={"workflows.fan_out.steps": [
            {"id": "only", "function": "builtins.split", "args": {"text": "${user_input}", "sep": ","}}]})
        assert run.status.value == "completed" and run.result == ["x", "y"]
