"""Who may run what: the one gate every path into a run calls (an MCP tool, ``mcp_call``, the
``workflow_executor`` meta-tool in an agent or a ``tool:`` step, a child step, a trigger, a
schedule) with the same caller, scopes, workflow list, inline rule and budget.

A leaf module: the caller is rebuilt from a run's record (``Caller.of_run``), so the engine
checks a child with exactly the rights its top-level run was started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Forbidden, NotFound
from .models import Budget, Execution, StoredWorkflow
from .spec.model import WorkflowDocument

if TYPE_CHECKING:
    from .ports import WorkflowRegistry

SCOPES = ("run", "generate", "read", "cancel", "admin")
LOCAL_PRINCIPAL = "local"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the principal that owns its executions, its scopes and allow-list."""

    principal: str
    scopes: frozenset[str]
    workflows: frozenset[str] | None = None
    budget: Budget | None = None  # the key's LLM limits, applied to every run it starts
    profiles: frozenset[str] | None = None  # the execution profiles it may pick (None: any)

    @property
    def admin(self) -> bool:
        """Admin keys see every caller's executions and are not limited by an allow-list."""
        return "admin" in self.scopes

    @property
    def limited(self) -> bool:
        """True when an allow-list limits this caller to named workflows."""
        return self.workflows is not None and not self.admin

    def has(self, scope: str) -> bool:
        """True when the caller holds ``scope`` (admin holds every scope)."""
        return self.admin or scope in self.scopes

    def may_use(self, workflow_name: str) -> bool:
        """True unless an allow-list excludes ``workflow_name`` (admin keys are not limited)."""
        return not self.limited or workflow_name in (self.workflows or ())

    @classmethod
    def of_run(cls, ex: Execution) -> Caller:
        """The caller a run acts for, from its record (a run stored before scopes were recorded,
        or started by the operator, holds every scope; its allow-list still applies)."""
        scopes = frozenset(ex.scopes) if ex.scopes is not None else frozenset(SCOPES)
        workflows = frozenset(ex.allowed_workflows) if ex.allowed_workflows is not None else None
        profiles = frozenset(ex.allowed_profiles) if ex.allowed_profiles is not None else None
        return cls(ex.principal or LOCAL_PRINCIPAL, scopes, workflows, ex.budget, profiles)

    def run_fields(self) -> dict[str, Any]:
        """What a run started for this caller records of it (``Caller.of_run`` reads it back)."""
        return {"principal": self.principal,
                "scopes": None if self.admin else sorted(self.scopes),
                "allowed_workflows": sorted(self.workflows or ()) if self.limited else None,
                "allowed_profiles": sorted(self.profiles) if self.profiles is not None and not self.admin else None}


OPEN_CALLER = Caller(LOCAL_PRINCIPAL, frozenset(SCOPES))


def require(caller: Caller, scope: str, action: str) -> None:
    """Errors: Forbidden when ``caller`` lacks ``scope`` for ``action``."""
    if not caller.has(scope):
        raise Forbidden(f"this key lacks the '{scope}' scope needed to {action}",
                        fix=f"use a key created with --scopes {scope}", field="scope")


def may_see(caller: Caller, ex: Execution) -> bool:
    """The ownership rule: a caller sees (and acts on) its own executions; an admin every one."""
    return caller.admin or ex.principal == caller.principal


def check_send_event(caller: Caller, ex: Execution) -> None:
    """Who may deliver an event to a waiting run: the scope ``run`` and the run's owner (or an
    admin). Errors: Forbidden (scope), NotFound (another caller's run: not even its existence)."""
    require(caller, "run", "send events")
    if not may_see(caller, ex):
        raise NotFound(f"no execution with id '{ex.id[:200]}'",
                       fix="use an execution_id returned to you (list_executions shows yours)", field="execution_id")


def check_run(caller: Caller, name: str | None, *, inline: bool = False, override: bool = False,
              registry: WorkflowRegistry | None = None, stored: StoredWorkflow | None = None,
              in_document: bool = False, profile: str | None = None) -> None:
    """May ``caller`` start a run of workflow ``name``? ``inline``: the document comes with the
    request (or from an agent); ``override``: the request changes the stored definition;
    ``in_document``: a child defined in its parent's own document (it comes with the parent);
    ``registry``: given, the whole closure of stored children is checked too (as registered now);
    ``profile``: the execution profile (``target_instance``) the run goes to.
    Errors: Forbidden, naming what is refused and the way out."""
    require(caller, "run", "run workflows")
    check_profile(caller, profile)
    if not caller.limited:
        return
    if inline:
        raise Forbidden("this key is limited to named workflows and may not run an inline workflow",
                        fix="pass workflow_name instead", field="workflow")
    if override:
        # an override can replace any part of the definition, steps included
        raise Forbidden("this key is limited to named workflows and may not override their definition",
                        fix="run the workflow without config_override", field="config_override")
    if name is not None and not in_document:
        check_use(caller, name)
    if registry is not None and name is not None:
        _closure_allowed(caller, name, stored, registry)


def check_profile(caller: Caller, profile: str | None) -> None:
    """May ``caller`` send a run to execution profile ``profile``? A key created with
    ``--profiles`` may pick only those (admin keys any). Errors: Forbidden."""
    if profile is None or caller.admin or caller.profiles is None or profile in caller.profiles:
        return
    raise Forbidden(f"this key may not run on profile '{profile[:60]}'",
                    fix="use one of: " + (", ".join(sorted(caller.profiles)) or "none (ask for a key with --profiles)"),
                    field="target_instance")


def check_generate(caller: Caller) -> None:
    """May ``caller`` create workflows by generation? Errors: Forbidden."""
    require(caller, "generate", "generate workflows")
    if caller.limited:
        raise Forbidden("this key is limited to named workflows and may not create new ones",
                        fix="ask for a key without a workflow allow-list", field="workflow_name")


def inherited(parent: Execution) -> dict[str, Any]:
    """The caller fields a child run takes from its parent (never more than the parent had),
    and its place in a chain of triggered runs (a child's publish is one hop further, too)."""
    return {"principal": parent.principal, "scopes": parent.scopes, "allowed_workflows": parent.allowed_workflows,
            "allowed_profiles": parent.allowed_profiles, "trigger_hops": parent.trigger_hops}


def narrow(a: Caller, b: Caller) -> Caller:
    """What both ``a`` and ``b`` allow (same principal as ``a``): a run's recorded rights held
    against its key's current ones."""
    def scopes(c: Caller) -> frozenset[str]:
        return frozenset(SCOPES) if c.admin else c.scopes

    both = scopes(a) & scopes(b)
    lists = [c.workflows for c in (a, b) if c.limited and c.workflows is not None]
    workflows = frozenset.intersection(*lists) if lists else None
    budget = (a.budget or Budget()).tighter(b.budget)
    if workflows is not None:
        both = both - {"admin"}
    profile_lists = [c.profiles for c in (a, b) if c.profiles is not None and not c.admin]
    profiles = frozenset.intersection(*profile_lists) if profile_lists else None
    if profiles is not None:
        both = both - {"admin"}
    return Caller(a.principal, both, workflows, None if budget.empty else budget, profiles)


def run_budget(caller: Caller, requested: Budget | None = None) -> Budget:
    """A run's LLM limits: the request's, tightened by the caller's own (a key's limit always holds)."""
    return (requested or Budget()).tighter(caller.budget)


def check_use(caller: Caller, name: str) -> None:
    """May ``caller`` see and use workflow ``name`` (its allow-list)? Errors: Forbidden."""
    if not caller.may_use(name):
        raise Forbidden(f"this key may not use workflow '{name[:200]}'",
                        fix="use one of: " + ", ".join(sorted(caller.workflows or ())), field="workflow_name")


def _closure_allowed(caller: Caller, name: str, stored: StoredWorkflow | None, registry: WorkflowRegistry) -> None:
    """An allow-listed key may reach other workflows through ``invoke_workflow`` only when it
    may use them too - children, grandchildren and so on (children defined in the same
    document come with the parent). The engine checks each child again as it starts."""
    seen: set[str] = set()
    todo: list[tuple[str, StoredWorkflow | None]] = [(name, stored)]
    while todo:
        current, known = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        found = known or registry.get(current)
        if found is None:
            continue  # not registered: the child step fails with not_found when it runs
        doc = WorkflowDocument.model_validate(found.document)
        for target in _external_children(doc):
            check_use(caller, target)
            todo.append((target, None))


def _external_children(doc: WorkflowDocument) -> set[str]:
    out: set[str] = set()

    def walk(steps: Any) -> None:
        for step in steps:
            target = step.invoke_workflow
            if target is not None and target not in doc.workflows:
                out.add(target)
            if step.loop is not None:
                walk(step.loop.body)

    for wf in doc.workflows.values():
        walk(wf.steps)
    return out
