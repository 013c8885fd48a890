"""The warnings execute_workflow answers for a ``config_override`` that changes nothing here
(``spec.override``), computed against the document the override was merged into."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import WfxError
from ..models import StoredWorkflow
from ..spec.override import override_warnings

if TYPE_CHECKING:  # only for the annotation: this module stays out of the app's import circle
    from .app import McpApp


def override_notes(app: McpApp, name: str | None, workflow: Any, override: dict[str, Any] | None,
                   stored: StoredWorkflow | None) -> dict[str, Any]:
    """``{"warnings": [{path, message, severity, fix}]}`` for the run's override, or ``{}``."""
    if not override:
        return {}
    try:
        if workflow is not None:
            base = app.executor.check(workflow, name=name)[0].model_dump(mode="json")
        else:
            base = (stored if stored is not None else app.executor.workflow(name or "")).document
    except WfxError:  # the run itself answered for the document already
        return {}
    notes = override_warnings(base, override)
    return {"warnings": [i.to_dict() for i in notes]} if notes else {}
