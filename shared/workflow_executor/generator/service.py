"""Generation as the MCP tools use it: the LLM generator when the server has a model, checked
by our validator and the complexity's shape, else (or when it fails) the template generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Issue, SpecError
from ..spec.model import WorkflowDocument
from ..spec.validate import Report
from . import llm, template
from .agents import assign
from .shape import check_shape
from .tasks import check_complexity, check_name, default_name

if TYPE_CHECKING:
    from ..settings import Settings

Validate = Callable[[dict[str, Any]], tuple[WorkflowDocument, Report]]


@dataclass
class Generation:
    """What was generated and how: ``generator`` is "llm" or "template"; ``llm_calls`` counts
    model requests; ``llm_errors`` are the last invalid LLM answer's errors; ``fallback_reason``
    says why the template was used although a model was configured."""

    name: str
    document: dict[str, Any]
    generator: str
    llm_calls: int = 0
    llm_errors: list[Issue] = field(default_factory=list)
    fallback_reason: str | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"generator": self.generator}
        if self.llm_calls:
            out["llm_calls"] = self.llm_calls
        if self.fallback_reason:
            out["fallback_reason"] = self.fallback_reason
            out["llm_errors"] = [e.to_dict() for e in self.llm_errors[:20]]
        return out


def generate(description: str, *, validate: Validate, name: str | None = None,
             agents_config: dict[str, Any] | None = None, tools_config: dict[str, Any] | None = None,
             complexity: str = "medium", model: tuple[Any, str] | None = None,
             builtin_tools: tuple[str, ...] = ()) -> Generation:
    """Generate a workflow for ``description``. With ``model`` (an ``openai.OpenAI`` client and
    a model name) the LLM generator goes first; the template generator is the fallback.
    ``validate(document)`` loads and validates (``Executor.check``). The template's document
    is returned unchecked: the caller validates it before storing.
    Errors: InvalidArgument for a bad name, complexity or configuration."""
    check_complexity(complexity)
    name = name or default_name(description)
    check_name(name)
    # malformed configs are the caller's error whichever generator runs
    configured = assign([], agents_config, tools_config)
    if model is not None:
        client, model_name = model

        def check(doc: dict[str, Any]) -> list[Issue]:
            try:
                loaded, report = validate(doc)
            except SpecError as exc:
                return list(exc.issues)
            return [*report.errors, *check_shape(loaded, complexity)]

        allowed = frozenset(configured.tools) | frozenset(builtin_tools)
        res = llm.generate(client, model_name, description=description, name=name, complexity=complexity,
                           agents_config={k: v or {} for k, v in (agents_config or {}).items()},
                           tools_config=configured.tools, allowed_tools=allowed, check=check)
        if res.document is not None:
            return Generation(name, res.document, "llm", llm_calls=res.calls)
        reason = res.failure or f"the model's workflow was still invalid after {llm.MAX_REPAIRS} repair rounds"
        fallback = _template(description, name, agents_config, tools_config, complexity, builtin_tools)
        return Generation(name, fallback, "template", llm_calls=res.calls, llm_errors=res.errors,
                          fallback_reason=reason)
    doc = _template(description, name, agents_config, tools_config, complexity, builtin_tools)
    return Generation(name, doc, "template")


def _template(description: str, name: str, agents_config: dict[str, Any] | None,
              tools_config: dict[str, Any] | None, complexity: str, builtin_tools: tuple[str, ...]) -> dict[str, Any]:
    _, doc = template.generate(description, name, agents_config, tools_config, complexity, builtin_tools)
    return doc


def model_for(settings: Settings) -> tuple[Any, str] | None:
    """The server's default model endpoint for generation (a new client, which the caller
    closes, and the model name), or None when no model is configured."""
    from ..agents import providers

    if not providers.configured(settings):
        return None
    client, model_name = providers.client_for(settings, None)
    if not model_name:
        client.close()
        return None
    return client, model_name
