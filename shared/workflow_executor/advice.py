"""The rule-based advice on a document as one server sees it: ``diagnose.advise`` with this
executor's tool types and default models. Shared by ``wfx advise`` and the Advisor prompt."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .agents.providers import default_model
from .diagnose import Finding, advise
from .errors import WfxError
from .spec import load_object, load_path, load_text
from .spec.model import WorkflowDocument


def tool_types(executor: Any) -> list[str]:
    """The tool types the executor's registry serves (``function`` only when it has none)."""
    known = getattr(executor.engine.tools, "known", None)
    return list(known()) if callable(known) else ["function"]


def advise_here(executor: Any, doc: WorkflowDocument) -> list[Finding]:
    """``diagnose.advise`` for ``doc`` on ``executor`` (an ``api.Executor``). Never raises."""
    has = getattr(executor.engine.tools, "has", None)
    settings = executor.services.settings
    return advise(doc, builtin=lambda n: bool(has(n)) if callable(has) else False,
                  server_model=lambda provider: default_model(settings, provider))


def loaded(source: Any) -> WorkflowDocument | None:
    """``source`` (a path, YAML/JSON text or a mapping) loaded but not validated, so that the
    rules can look at a document the validator rejects; None when it does not even load."""
    try:
        if isinstance(source, Path):
            return load_path(source)
        if isinstance(source, Mapping):
            return load_object(dict(source))
        return load_text(str(source))
    except WfxError:
        return None
