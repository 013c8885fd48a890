"""One entry for a workflow's picture: document + warnings -> SVG or Mermaid text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
