"""Generation as the MCP tools use it: the description is planned once (``planner``, ``fit``);
the LLM generator builds from the plan when the server has a model, checked by our validator,
the complexity's bounds and the plan's coverage, else (or when it fails) the template does.
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
from .coverage import check_coverage
from .fit import fit
from .planner import Plan, read
from .shape import check_shape
from .tasks import check_complexity, check_name, default_name
from .tooling import Catalogue, catalogue
from .vocab import NEED_TOOLS

if TYPE_CHECKING:
    from ..settings import Settings

Validate = Callable[[dict[str, Any]], tuple[WorkflowDocument, Report]]
_ENABLE = {"http": "WFX_HTTP_ALLOW (or an mcpremote tool in tools_config)", "files": "WFX_FS_ROOTS",
           "code": "WFX_FS_ROOTS", "workflow": "the workflow_executor tool type"}


@dataclass
class Generation:
    """What was generated and how: ``generator`` is "llm" or "template"; ``llm_calls`` counts
    model requests; ``llm_errors`` are the last invalid LLM answer's errors; ``fallback_reason``
    says why the template was used although a model was configured; ``warnings`` name the tasks
    that lack the tool they ask for."""

    name: str
    document: dict[str, Any]
    generator: str
    llm_calls: int = 0
    llm_errors: list[Issue] = field(default_factory=list)
    fallback_reason: str | None = None
    warnings: list[Issue] = field(default_factory=list)

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
             complexity: str = "medium", model: tuple[Any, str] | None = None, tool_registry: Any = None,
             known_workflow: Callable[[str], bool] | None = None) -> Generation:
    """Generate a workflow for ``description``. With ``model`` (an ``openai.OpenAI`` client and
    a model name) the LLM generator goes first; the template generator is the fallback.
    ``validate(document)`` loads and validates (``Executor.check``); ``tool_registry`` (the
    server's ToolRegistry; None: no tools) says which tools can be offered; ``known_workflow``
    which workflows a step may run as a child. The template's document is returned unchecked:
    the caller validates it before storing. Errors: InvalidArgument for a bad name, complexity
    or configuration."""
    check_complexity(complexity)
    name = name or default_name(description)
    check_name(name)
    # malformed configs are the caller's error whichever generator runs
    configured = assign([], agents_config, tools_config)
    known = known_workflow or (lambda _n: False)
    tools = catalogue(tool_registry, configured.tools)
    plan = fit(read(description), complexity, tools, known)
    warnings = tool_warnings(plan)
    if model is not None:
        client, model_name = model

        def check(doc: dict[str, Any]) -> list[Issue]:
            try:
                loaded, report = validate(doc)
            except SpecError as exc:
                return list(exc.issues)
            return [*report.errors, *check_shape(loaded, complexity), *check_coverage(loaded, plan)]

        res = llm.generate(client, model_name, description=description, name=name, complexity=complexity,
                           agents_config={k: v or {} for k, v in (agents_config or {}).items()},
                           tools_config=configured.tools, plan=plan, tools=tools, check=check)
        if res.document is not None:
            return Generation(name, res.document, "llm", llm_calls=res.calls, warnings=warnings)
        reason = res.failure or f"the model's workflow was still invalid after {llm.MAX_REPAIRS} repair rounds"
        fallback = _template(plan, name, complexity, tools, known, agents_config, tools_config)
        return Generation(name, fallback, "template", llm_calls=res.calls, llm_errors=res.errors,
                          fallback_reason=reason, warnings=warnings)
    doc = _template(plan, name, complexity, tools, known, agents_config, tools_config)
    return Generation(name, doc, "template", warnings=warnings)


def _template(plan: Plan, name: str, complexity: str, tools: Catalogue, known: Callable[[str], bool],
              agents_config: dict[str, Any] | None, tools_config: dict[str, Any] | None) -> dict[str, Any]:
    return template.build(plan, name, complexity, tools, known, agents_config, tools_config)


def tool_warnings(plan: Plan) -> list[Issue]:
    """A warning for each task that asks for a tool the server cannot offer."""
    out: list[Issue] = []
    for note in dict.fromkeys(plan.notes):
        task, _, need = note.partition("|")
        kinds = " or ".join(NEED_TOOLS.get(need, (need,)))
        out.append(Issue(path=f"plan.tasks.{task}", severity="warning", file="generator",
                         message=f"task '{task}' needs a {kinds} tool, which this server does not offer; "
                                 "it runs without one",
                         fix=f"the operator can enable it ({_ENABLE.get(need, 'the ' + kinds + ' tool type')}), "
                             "or pass such a tool in tools_config"))
    return out


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
