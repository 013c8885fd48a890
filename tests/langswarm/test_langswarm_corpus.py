"""The LangSwarm corpus: documents in the shapes LangSwarm users write (written by us), each
validated and run offline, asserting the route LangSwarm would take.

Header lines of each file: ``# input: <json>``, ``# workflow: <name>``, ``# llm: <json list of
scripted replies>``, ``# result: <json>``, ``# ran: a, b`` (completed steps, exactly),
``# warn: <path> | <fragment>`` (exactly these validation warnings), ``# step-warn: <step> |
<fragment>`` (a warning on that step's record).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.models import StepStatus

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.yaml"))


def header(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# "):
            break
        key, sep, value = line[2:].partition(":")
        if sep:
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def pairs(values: list[str]) -> list[tuple[str, str]]:
    return [(a.strip(), b.strip()) for a, _, b in (v.partition("|") for v in values)]


def test_the_corpus_covers_at_least_thirty_documents() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_a_langswarm_document_validates_and_runs_the_route_langswarm_takes(
        path: Path, wfx: Executor, llm: LLMServer) -> None:
    h = header(path)
    doc, report = wfx.check(path)
    assert report.ok
    want_warn = pairs(h.get("warn", []))
    assert sorted(w.path for w in report.warnings) == sorted(p for p, _ in want_warn), \
        [f"{w.path}: {w.message}" for w in report.warnings]
    for where, fragment in want_warn:
        hits = [w for w in report.warnings if w.path == where]
        assert any(fragment in w.message for w in hits), [w.message for w in hits]
        assert all(w.fix and w.severity == "warning" for w in hits)
    if "llm" in h:
        llm.script(*json.loads(h["llm"][0]))
    wfx.register(path)
    name = h["workflow"][0] if "workflow" in h else doc.workflow().id
    inp: Any = json.loads(h["input"][0]) if "input" in h else None
    run = wfx.run(name, inp)
    assert run.status.value == (h.get("status") or ["completed"])[0], run.error
    ran = sorted(sid for sid, r in run.steps.items() if r.status == StepStatus.COMPLETED)
    if "ran" in h:
        assert ran == sorted(s.strip() for s in h["ran"][0].split(",") if s.strip())
    if "result" in h:
        assert run.result == json.loads(h["result"][0])
    for sid, fragment in pairs(h.get("step-warn", [])):
        notes = run.steps[sid].warnings
        assert any(fragment in n for n in notes), notes
    if "step-warn" not in h:
        assert all(not r.warnings for r in run.steps.values()), {s: r.warnings for s, r in run.steps.items()}
