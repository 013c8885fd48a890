"""One entry for a workflow's picture: document + warnings -> SVG or Mermaid text."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import InvalidArgument, Issue
from ..spec.model import WorkflowDocument
from . import diagram, svg


def picture(doc: WorkflowDocument, warnings: Iterable[Issue], workflow: str | None, fmt: str = "svg", *,
            statuses: Mapping[str, str] | None = None, link: str | None = None) -> str:
    """The picture of ``workflow`` (default: the document's first). Errors: InvalidArgument
    for a workflow the document does not define."""
    if workflow is not None and workflow not in doc.workflows:
        raise InvalidArgument(f"the document defines no workflow '{workflow[:100]}'",
                              fix="use one of: " + ", ".join(doc.workflows), field="workflow")
    d = diagram.build(doc.workflow(workflow), list(warnings))
    return svg.mermaid(d) if fmt == "mmd" else svg.render(d, statuses=statuses, link=link)


def write_png(svg_text: str, out: Path, timeout_s: float = 60.0) -> None:
    """Rasterise ``svg_text`` into ``out`` with a headless Chromium (the one optional tool this
    needs; nothing is downloaded). Errors: InvalidArgument when no Chromium is installed or it fails."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        raise InvalidArgument("a PNG needs a headless Chromium, and none is installed",
                              fix="install one (apt-get install chromium), or write .svg or .mmd", field="output")
    size = re.search(r'width="(\d+)" height="(\d+)"', svg_text)
    width, height = (int(size.group(1)), int(size.group(2))) if size else (800, 600)
    with tempfile.TemporaryDirectory(prefix="wfx-graph-") as tmp:
        src = Path(tmp) / "graph.svg"
        src.write_text(svg_text, encoding="utf-8")
        target = Path(out).resolve()
        proc = subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--user-data-dir={tmp}/profile", f"--screenshot={target}",
                               f"--window-size={width},{height}", src.as_uri()],
                              capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not target.exists():
            raise InvalidArgument(f"Chromium could not draw the PNG (exit {proc.returncode})",
                                  fix="write .svg or .mmd instead", field="output")
