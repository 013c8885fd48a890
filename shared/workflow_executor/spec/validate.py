"""Cross-reference validation of a loaded document: ids, actions, routing, cycles, references,
fan-in, limits. Every finding carries the path where the author must look and a fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..cron import Cron, CronError
from ..errors import Issue, SpecError
from .agent_checks import check_agent_step, check_agents
from .envrefs import references
from .graph import Graph, cycles, graph
from .model import (
    ACTIONS,
    MAX_FAN_OUT,
    MAX_STEPS,
    USER,
    IfCondition,
    Step,
    SwitchCondition,
    Workflow,
    WorkflowDocument,
)
from .placeholders import placeholder_warnings
from .refcheck import RefScope, check_expr, check_ref, check_value
from .refs import UnresolvedReference, parse_ref
from .tool_checks import ToolChecker, ToolDiscovery, local_tool, undeclared_tool
from .waits import check_wait

FunctionChecker = Callable[[str], str | None]


@dataclass(frozen=True)
class Report:
    """Errors make a document unusable; warnings (e.g. an unreachable step) do not."""

    errors: list[Issue]
    warnings: list[Issue]

    @property
    def ok(self) -> bool:
        return not self.errors


def check(
    doc: WorkflowDocument,
    *,
    source: str | None = None,
    function_checker: FunctionChecker | None = None,
    known_workflow: Callable[[str], bool] | None = None,
    allowed_env: frozenset[str] = frozenset(),
    max_steps: int = MAX_STEPS,
    tool_checker: ToolChecker | None = None,
    schedule_min_interval_s: float = 60.0,
    tool_discovery: ToolDiscovery | None = None,
    wait_max_s: float = 30 * 86400.0,
) -> Report:
    """Check ``doc`` and return every error and warning (never raises for a bad document).

    ``function_checker(ref)`` returns why a function reference is not allowed, else None;
    ``known_workflow(name)`` accepts ``invoke_workflow`` targets outside this document;
    ``allowed_env`` lists the names ``${env.X}`` may read; ``tool_checker(tool)`` says why a
    tool cannot run here (an error where an agent or step uses it, else a warning);
    ``tool_discovery(name)`` gives the built-in an undeclared tool name stands for (LangSwarm's
    auto-discovery): an agent's unknown name is a warning (it is left out at run time), a
    ``tool:`` step's an error.
    ``schedule_min_interval_s``: the operator's minimum time between two firings of a schedule.
    ``wait_max_s``: the longest wait_for timeout / sleep allowed.
    """
    c = _Checker(doc, source, function_checker, known_workflow, allowed_env, max_steps)
    c.tool_checker, c.tool_discovery = tool_checker, tool_discovery
    c.schedule_min_interval_s = schedule_min_interval_s
    c.wait_max_s = wait_max_s
    for wf in doc.workflows.values():
        c.workflow(wf)
    c.document()
    return Report(errors=c.errors, warnings=c.warnings)


def validate(doc: WorkflowDocument, **options: Any) -> Report:
    """Like ``check`` but raises ``SpecError(errors, warnings=...)`` when there are errors."""
    report = check(doc, **options)
    if report.errors:
        raise SpecError(report.errors, warnings=report.warnings)
    return report


class _Checker:
    def __init__(self, doc: WorkflowDocument, source: str | None, function_checker: FunctionChecker | None,
                 known_workflow: Callable[[str], bool] | None, allowed_env: frozenset[str],
                 max_steps: int) -> None:
        self.doc, self.source = doc, source
        self.function_checker, self.known_workflow = function_checker, known_workflow
        self.allowed_env, self.max_steps = allowed_env, max_steps
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.tool_checker: ToolChecker | None = None
        self.schedule_min_interval_s = 60.0
        self.wait_max_s = 30 * 86400.0
        self.tool_discovery: ToolDiscovery | None = None

    def error(self, path: str, message: str, fix: str) -> None:
        self.errors.append(Issue(path=path, message=message, file=self.source, fix=fix))

    def warn(self, path: str, message: str, fix: str) -> None:
        self.warnings.append(Issue(path=path, message=message, file=self.source, severity="warning", fix=fix))

    # --- document level -------------------------------------------------------------------

    def document(self) -> None:
        self.errors.extend(check_agents(self.doc, self.source))
        for tid, tool in self.doc.tools.items():
            for key, ref, default in references(tool.model_extra or {}):
                means = f"it is read as its default '{default}'" if default is not None else "the tool's default holds"
                self.warn(f"tools.{tid}.{key}", f"{ref} reads the environment in LangSwarm; a document does not read "
                          f"this server's environment, so {means}",
                          "write the value itself (the operator's settings decide what the tool may reach)")
            if tool.function and self.function_checker and (msg := self.function_checker(tool.function)):
                self.error(f"tools.{tid}.function", msg, "use a function the operator allows")
        if self.tool_checker is not None:
            used = _used_tools(self.doc)
            for tid, tool in self.doc.tools.items():
                if tool.function and tool.type == "function":
                    continue  # reported above
                msg = self.tool_checker(tool)
                if msg and tid in used:
                    self.error(f"tools.{tid}.type", msg, "fix the tool, or stop using it in agents and steps")
                elif msg:
                    self.warn(f"tools.{tid}.type", msg + " (no agent or step uses it)", "fix or remove the tool")
        for aid, agent in self.doc.agents.items():
            for i, tid in enumerate(agent.tools):
                if tid not in self.doc.tools:
                    self.undeclared(tid, f"agents.{aid}.tools[{i}]", agent=True)
        for i, trig in enumerate(self.doc.triggers):
            if trig.workflow is not None and not self._workflow_exists(trig.workflow):
                self.error(f"triggers[{i}].workflow", f"unknown workflow '{trig.workflow}'",
                           f"use one of: {', '.join(self.doc.workflows)}")
            if trig.overlap == "queue":
                self.error(f"triggers[{i}].overlap", "a trigger cannot queue messages past max_concurrent",
                           "use overlap: skip, cancel_older or allow_all")

        for i, sched in enumerate(self.doc.schedules):
            if sched.workflow is not None and not self._workflow_exists(sched.workflow):
                self.error(f"schedules[{i}].workflow", f"unknown workflow '{sched.workflow}'",
                           f"use one of: {', '.join(self.doc.workflows)}")
            try:
                gap = Cron.parse(sched.cron, sched.time_zone).min_gap_s(time.time())
            except CronError as exc:
                self.error(f"schedules[{i}].cron", str(exc), "write 5 fields, e.g. '0 3 * * *', and an IANA time_zone")
                continue
            if gap < self.schedule_min_interval_s:
                self.error(f"schedules[{i}].cron", f"'{sched.cron}' fires every {gap:g} s, more often than the "
                           f"operator's minimum of {self.schedule_min_interval_s:g} s",
                           "fire less often (the operator sets WFX_SCHEDULE_MIN_INTERVAL_S)")

    def undeclared(self, tid: str, path: str, *, agent: bool) -> None:
        self._sort(undeclared_tool(self.doc, tid, path, agent, self.tool_discovery, self.tool_checker, self.source))

    def _sort(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            (self.warnings if issue.severity == "warning" else self.errors).append(issue)

    def _workflow_exists(self, name: str) -> bool:
        return name in self.doc.workflows or bool(self.known_workflow and self.known_workflow(name))

    # --- workflow level -------------------------------------------------------------------

    def workflow(self, wf: Workflow) -> None:
        wpath = f"workflows.{wf.id}"
        flat: list[tuple[Step, str]] = []
        _flatten(wf.steps, f"{wpath}.steps", flat)
        if len(flat) > self.max_steps:
            self.error(f"{wpath}.steps", f"{len(flat)} steps (loop bodies included), over the limit of "
                       f"{self.max_steps}", "split the workflow into child workflows (invoke_workflow)")
        first: dict[str, str] = {}
        for step, path in flat:
            if step.id in first:
                self.error(f"{path}.id", f"duplicate step id '{step.id}' (first at {first[step.id]})",
                           "give every step of the workflow (loop bodies too) its own id")
            else:
                first[step.id] = path
        top = frozenset(s.id for s in wf.steps)
        known = frozenset(first)
        for name in wf.inputs:
            if name in known:
                self.error(f"{wpath}.inputs", f"input '{name}' is also a step id",
                           "rename the input or the step, so that ${" + name + "} means one thing")
        g = graph(wf)
        for i, step in enumerate(wf.steps):
            path = f"{wpath}.steps[{i}]"
            scope = RefScope(step=step.id, visible=g.ancestors(step.id), known=top,
                             allowed_env=self.allowed_env, body_only=known - top, inputs=frozenset(wf.inputs))
            self.step(wf, step, path, scope, top)
            self.routing(step, path, g, top, known)
        self.cycles(wf, g, wpath)
        if not g.chain:
            reach = g.reachable()
            for i, step in enumerate(wf.steps):
                if step.id not in reach:
                    self.warn(f"{wpath}.steps[{i}]", f"step '{step.id}' can never run: nothing routes to it",
                              "route to it with output.to or depends_on, or remove it")

    def routing(self, step: Step, path: str, g: Graph, top: frozenset[str], known: frozenset[str]) -> None:
        def target_ok(t: str, where: str) -> None:
            if t == USER or t in top:
                return
            hint = " (it is inside a loop body)" if t in known else ""
            self.error(where, f"unknown step '{t}'{hint}",
                       f"route to 'user' or one of: {', '.join(sorted(top))}")

        out = step.output
        if out is not None:
            for t in out.to:
                target_ok(t, f"{path}.output.to")
            if len(set(out.to)) > MAX_FAN_OUT:
                self.error(f"{path}.output.to", f"{len(set(out.to))} targets, over the fan-out limit of "
                           f"{MAX_FAN_OUT}", "loop over the items (loop.for_each) instead")
            cond = out.condition
            cpath = f"{path}.output.to.condition"
            if isinstance(cond, SwitchCondition):
                for key, targets in cond.cases.items():
                    for t in targets:
                        target_ok(t, f"{cpath}.cases.{key}")
                for t in cond.default:
                    target_ok(t, f"{cpath}.default")
            elif cond is not None:
                for t in cond.then:
                    target_ok(t, f"{cpath}.then")
                for t in cond.otherwise:
                    target_ok(t, f"{cpath}.else")
        for d in step.depends_on:
            if d not in top:
                self.error(f"{path}.depends_on", f"unknown step '{d}'",
                           f"depend on one of: {', '.join(sorted(top - {step.id}))}")
        if step.is_fan_in:
            if step.fan_key is None:
                self.error(f"{path}.is_fan_in", "a fan-in step needs a fan_key",
                           "add fan_key: <the key its branch steps share>")
            elif not g.branches.get(step.fan_key):
                self.error(f"{path}.fan_key", f"no branch steps have fan_key '{step.fan_key}'",
                           "give the parallel steps the same fan_key (without is_fan_in)")
            elif g.fan_ins.get(step.fan_key) != step.id:
                self.error(f"{path}.fan_key", f"fan_key '{step.fan_key}' already has a fan-in step "
                           f"'{g.fan_ins[step.fan_key]}'", "use one fan-in step per fan_key")

    def cycles(self, wf: Workflow, g: Graph, wpath: str) -> None:
        """Report each cycle of output.to / depends_on edges once, as ``a -> b -> a``."""
        index = {s.id: i for i, s in enumerate(wf.steps)}
        for cyc in cycles(wf, g):
            self.error(f"{wpath}.steps[{index[cyc[0]]}]", "cycle: " + " -> ".join([*cyc, cyc[0]]),
                       "break the cycle; repeat work with loop: {for_each | until} instead")

    # --- step level -----------------------------------------------------------------------

    def step(self, wf: Workflow, step: Step, path: str, scope: RefScope, top: frozenset[str]) -> None:
        self.action(wf, step, path)
        self.warnings.extend(placeholder_warnings(step, path, self.source))
        loop = step.loop
        in_loop = loop is not None or scope.in_loop
        own_vars = scope.loop_vars | ({loop.var} if loop else set())
        inner = scope.but(in_loop=in_loop, loop_vars=own_vars, fan_in=step.is_fan_in)
        check_value(step.input, f"{path}.input", inner, self._report)
        check_value(step.args, f"{path}.args", inner, self._report)
        check_value(step.params, f"{path}.params", inner, self._report)
        if step.wait_for is not None:
            check_value(step.wait_for.match, f"{path}.wait_for.match", inner, self._report)
        for wpath, message, fix in check_wait(step, path, self.wait_max_s, scope.in_loop):
            self.error(wpath, message, fix)
        if step.condition is not None:
            check_expr(step.condition, f"{path}.condition", scope.but(fan_in=step.is_fan_in), self._report)
        if loop is not None:
            self.loop(wf, step, path, scope, inner, top)
        if step.output is not None and step.output.condition is not None:
            cond = step.output.condition
            cpath = f"{path}.output.to.condition"
            oscope = scope.but(output=True, visible=scope.visible | {step.id}, wait=step.wait_for is not None)
            if isinstance(cond, IfCondition):
                check_expr(cond.expr, f"{cpath}.if", oscope, self._report)
            elif isinstance(cond, SwitchCondition):
                check_expr(cond.expr, f"{cpath}.switch", oscope, self._report)
            else:
                text = cond.ref.strip()
                inside = text[2:-1] if text.startswith("${") and text.endswith("}") else text
                try:
                    check_ref(parse_ref(inside), f"{cpath}.exists", oscope, self._report)
                except UnresolvedReference as exc:  # bad syntax
                    self.error(f"{cpath}.exists", str(exc), 'write exists: "${fetch.output.items}"')

    def _report(self, path: str, message: str, fix: str) -> None:
        self.error(path, message, fix)

    def action(self, wf: Workflow, step: Step, path: str) -> None:
        kinds = [k for k in ACTIONS if getattr(step, k) is not None]
        if step.loop is not None and step.loop.body:
            kinds.append("loop.body")
        if not kinds:
            self.error(path, f"step '{step.id}' has no action",
                       "add one of agent, function, tool, invoke_workflow, wait_for, sleep (or a loop with a body)")
        elif len(kinds) > 1:
            self.error(path, f"step '{step.id}' has {len(kinds)} actions: {', '.join(kinds)}",
                       "keep one action per step; split the others into their own steps")
        self._sort(check_agent_step(step, path, self.doc, self.source))
        if step.agent is not None and step.agent not in self.doc.agents:
            self.error(f"{path}.agent", f"unknown agent '{step.agent}'",
                       f"define it under agents: or use one of: {', '.join(self.doc.agents) or '(none)'}")
        if step.tool is not None and step.tool not in self.doc.tools:
            self.undeclared(step.tool, f"{path}.tool", agent=False)
        if step.function is not None and self.tool_discovery is not None:
            self._sort(local_tool(self.doc, step, f"{path}.args.mcp_url", self.tool_discovery, self.source))
        if step.function is not None and self.function_checker:
            msg = self.function_checker(step.function)
            if msg:
                self.error(f"{path}.function", msg, "use a built-in or an allow-listed function")
        name = step.invoke_workflow
        if name is not None:
            if name == wf.id:
                self.error(f"{path}.invoke_workflow", f"workflow '{wf.id}' invokes itself",
                           "repeat work with loop: {for_each | until} instead")
            elif not self._workflow_exists(name):
                others = ", ".join(w for w in self.doc.workflows if w != wf.id) or "(none)"
                self.error(f"{path}.invoke_workflow", f"unknown workflow '{name}'", f"use one of: {others}")

    def loop(self, wf: Workflow, step: Step, path: str, scope: RefScope, inner: RefScope,
             top: frozenset[str]) -> None:
        loop = step.loop
        assert loop is not None
        if (loop.for_each is None) == (loop.until is None):
            self.error(f"{path}.loop", "a loop needs exactly one of for_each or until",
                       "write loop: {for_each: ${fetch.output.items}} or loop: {until: <expr>, max: 10}")
        if loop.var in scope.known or loop.var in scope.body_only:
            self.error(f"{path}.loop.var", f"loop var '{loop.var}' is also a step id",
                       "rename the loop var, e.g. var: item")
        if loop.for_each is not None:
            fscope = scope.but(fan_in=step.is_fan_in)
            check_value(loop.for_each, f"{path}.loop.for_each", fscope, self._report)
        body_ids = frozenset(s.id for s in loop.body)
        if loop.until is not None:
            uscope = inner.but(visible=inner.visible | body_ids | {step.id}, known=inner.known | body_ids,
                               output=True)  # `output` is the iteration's output
            check_expr(loop.until, f"{path}.loop.until", uscope, self._report)
        visible = inner.visible
        for i, body_step in enumerate(loop.body):
            bpath = f"{path}.loop.body[{i}]"
            for key in ("output", "depends_on", "fan_key"):
                if getattr(body_step, key):
                    self.error(f"{bpath}.{key}", f"'{key}' is not allowed inside a loop body",
                               "body steps run in order; route after the loop step instead")
            if body_step.is_fan_in:
                self.error(f"{bpath}.is_fan_in", "'is_fan_in' is not allowed inside a loop body",
                           "body steps run in order; join after the loop step instead")
            bscope = inner.but(step=body_step.id, visible=visible, known=inner.known | body_ids,
                               body_only=inner.body_only - body_ids, fan_in=False)
            self.step(wf, body_step, bpath, bscope, top)
            visible = visible | {body_step.id}


def _used_tools(doc: WorkflowDocument) -> set[str]:
    used = {t for a in doc.agents.values() for t in a.tools}
    for wf in doc.workflows.values():
        flat: list[tuple[Step, str]] = []
        _flatten(wf.steps, "", flat)
        used.update(s.tool for s, _ in flat if s.tool)
    return used


def _flatten(steps: tuple[Step, ...], path: str, out: list[tuple[Step, str]]) -> None:
    for i, s in enumerate(steps):
        out.append((s, f"{path}[{i}]"))
        if s.loop is not None and s.loop.body:
            _flatten(s.loop.body, f"{path}[{i}].loop.body", out)
