"""Workflow pictures: every example draws, node and edge sets match (a snapshot of the graph,
not the pixels), warnings sit on their nodes, and document text never becomes markup."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from workflow_executor.spec import load_file, load_object, load_text, validate
from workflow_executor.ui import diagram, svg
from workflow_executor.ui.diagram import END, START

ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _nodes(svg_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg_text)
    return {g.attrib["data-step"]: g for g in root.iter(f"{SVG_NS}g") if "data-step" in g.attrib}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_workflow_draws_as_svg_and_mermaid(path: Path) -> None:
    doc = load_file(path)
    for wf in doc.workflows.values():
        d = diagram.build(wf)
        drawn = _nodes(svg.render(d))
        assert set(drawn) - {START, END} == {s.id for s in wf.steps}
        text = svg.mermaid(d)
        assert text.startswith("flowchart TD\n")
        assert sum(1 for line in text.splitlines() if " -->" in line or " -.->" in line) == len(d.edges)


def test_fan_out_graph_has_the_branches_the_join_and_the_loop() -> None:
    d = diagram.build(load_file(ROOT / "examples" / "fan_out.yaml").workflow())
    assert d.node_set() == {"split", "count", "upper", "pause", "join", "each"}
    assert d.edge_set() == {
        (START, "split", ""), ("split", "count", ""), ("split", "upper", ""), ("split", "pause", ""),
        ("count", "join", ""), ("upper", "join", ""), ("pause", "join", ""), ("join", "each", ""),
        ("each", END, ""),
    }
    assert "fan-in words" in d.nodes["join"].badges
    assert any(b.startswith("loop for each") for b in d.nodes["each"].badges)


def test_conditions_label_their_branches_and_a_cycle_is_drawn_against_the_flow() -> None:
    doc = load_text("""
workflows:
  w:
    steps:
      - id: draft
        function: builtins.echo
        args: {value: 1}
        output: {to: review}
      - id: review
        function: builtins.echo
        args: {value: 2}
        output:
          to:
            condition:
              switch: ${review.output}
              cases: {"1": [draft], "2": [done]}
              default: [user]
      - id: done
        function: builtins.echo
        args: {value: 3}
        depends_on: [review]
""")
    d = diagram.build(doc.workflow())
    assert ("review", "draft", "${review.output} = 1") in d.edge_set()
    assert ("review", END, "default") in d.edge_set()
    assert ("review", "done", "depends") in d.edge_set()
    text = svg.render(d)
    assert "${review.output} = 1" in text
    ET.fromstring(text)  # well-formed


def test_validation_warnings_are_shown_on_the_nodes_they_name() -> None:
    doc = load_text("""
workflows:
  w:
    steps:
      - {id: a, function: builtins.echo, args: {value: 1}, output: {to: b}}
      - {id: b, function: builtins.echo, args: {value: 1}, output: {to: user}}
      - {id: orphan, function: builtins.echo, args: {value: 2}}
""")
    report = validate(doc)
    assert report.warnings
    d = diagram.build(doc.workflow(), report.warnings)
    assert d.nodes["orphan"].warnings and not d.nodes["a"].warnings
    rect = _nodes(svg.render(d))["orphan"].find(f"{SVG_NS}rect")
    assert rect is not None and rect.attrib["stroke"] == "#d93025"


def test_document_text_is_escaped_in_svg_and_mermaid() -> None:
    evil = '<script>alert(1)</script>" onload="x'
    doc = load_object({"workflows": {"w": {"steps": [
        {"id": "a", "function": "builtins.echo", "args": {"value": 1}, "condition": f"'{evil}' != ''",
         "output": {"to": "user"}}]}}})
    d = diagram.build(doc.workflow())
    text = svg.render(d)
    root = ET.fromstring(text)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert not [e for e in root.iter() if "onload" in e.attrib]
    assert "<script>" not in text
    node_line = next(line for line in svg.mermaid(d).splitlines() if line.startswith("  n1["))
    assert "<script" not in node_line and node_line.count('"') == 2


def test_wfx_graph_writes_svg_and_mermaid_files(tmp_path: Path) -> None:
    def wfx(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"WFX_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, timeout=60,
                              capture_output=True, text=True, env=env)

    out = wfx("graph", "examples/fan_out.yaml", "-o", str(tmp_path / "g.svg"))
    assert out.returncode == 0, out.stderr
    assert set(_nodes((tmp_path / "g.svg").read_text())) >= {"split", "join", "each"}
    out = wfx("graph", "examples/fan_out.yaml", "-o", str(tmp_path / "g.mmd"))
    assert out.returncode == 0 and (tmp_path / "g.mmd").read_text().startswith("flowchart TD")
    out = wfx("graph", "examples/fan_out.yaml", "-o", str(tmp_path / "g.png"))
    assert out.returncode == 0, out.stderr
    png = (tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") > 100  # width
    bad = wfx("graph", "examples/fan_out.yaml", "--workflow", "nope")
    assert bad.returncode == 1 and "invalid_argument" in bad.stderr
