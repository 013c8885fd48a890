"""Functions the LangSwarm corpus allows (module ``ls_fns``): LangSwarm passes ``context=`` to
a function that names it; here it is a read-only view of the run's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summarize(context: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """What a LangSwarm function typically reads from its context."""
    outputs = context["step_outputs"]
    return {"prefix": prefix, "user_input": context["user_input"], "previous": context["previous_output"],
            "steps": sorted(outputs), "workflow": context["current_workflow_id"]}


def try_to_write(context: Mapping[str, Any]) -> str:
    """Mutating the context is refused: it is a view, not the run's state."""
    try:
        context["step_outputs"]["x"] = 1  # type: ignore[index]
    except TypeError:
        return "read-only"
    return "mutated"


def needs_no_context(value: Any = None, **kwargs: Any) -> Any:
    """A function without a ``context`` parameter gets none (even with **kwargs)."""
    return {"value": value, "got_context": "context" in kwargs}
