"""Edge labels of a workflow picture never cover each other (issue 20): a condition's then and
else branches leave one step side by side, and their labels used to print on top of each other."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from workflow_executor.spec import load_file
from workflow_executor.ui import diagram, svg

ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"


def _label_boxes(svg_text: str) -> list[tuple[float, float, float, float]]:
    """The box of every edge label, from its position and length at the drawing's label size."""
    boxes = []
    for g in ET.fromstring(svg_text).iter(f"{SVG_NS}g"):
        for t in g.findall(f"{SVG_NS}text") if "edge" in g.attrib.get("class", "") else []:
            x, y, n = float(t.attrib["x"]), float(t.attrib["y"]), len(t.text or "")
            boxes.append((x, y - svg.LABEL_H + 3, x + svg.LABEL_CHAR_W * n, y + 3))
    return boxes


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_no_two_edge_labels_of_an_example_overlap(path: Path) -> None:
    for wf in load_file(path).workflows.values():
        boxes = _label_boxes(svg.render(diagram.build(wf)))
        clashes = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                   if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
        assert clashes == [], wf.id


def test_the_condition_examples_still_label_both_branches() -> None:
    wf = load_file(ROOT / "examples" / "validation_loop.yaml").workflow()
    assert len(_label_boxes(svg.render(diagram.build(wf)))) == 2
