"""The execution graph of one workflow (or one loop body): who starts, who follows whom, who
waits for whom. Shared by the validator and the engine so both read the order the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import USER, Step, Workflow


@dataclass(frozen=True)
class Graph:
    """``chain``: no step routes to another step (``output.to`` other than ``user``, or an output
    condition) and none uses ``depends_on``, so steps run in list order.
    ``entries``: the steps that start. ``successors``: every step a finished step may hand over
    to (``user`` excluded; the next step in a chain). ``depends``: ``depends_on`` per step.
    ``branches``/``fan_ins``: per ``fan_key``, the branch steps and the fan-in step."""

    chain: bool
    entries: tuple[str, ...]
    successors: dict[str, tuple[str, ...]]
    depends: dict[str, tuple[str, ...]]
    branches: dict[str, tuple[str, ...]]
    fan_ins: dict[str, str]
    order: tuple[str, ...] = ()
    _preds: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def predecessors(self, step_id: str) -> frozenset[str]:
        """Steps whose finishing can lead directly to ``step_id`` (hand-over, dependency, fan-in)."""
        return self._preds.get(step_id, frozenset())

    def ancestors(self, step_id: str) -> frozenset[str]:
        """Every step that can have finished before ``step_id`` starts (transitively); in a
        chain, the earlier steps. Includes ``step_id`` itself only when it sits on a cycle."""
        seen: set[str] = set()
        todo = list(self.predecessors(step_id))
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(self.predecessors(s))
        return frozenset(seen)

    def reachable(self) -> frozenset[str]:
        """Steps that can run at all, starting from ``entries`` (a fan-in or a ``depends_on``
        step counts as reachable once any of its inputs is)."""
        forward: dict[str, set[str]] = {s: set(self.successors.get(s, ())) for s in self.order}
        for s, deps in self.depends.items():
            for d in deps:
                forward.setdefault(d, set()).add(s)
        for key, fan_in in self.fan_ins.items():
            for b in self.branches.get(key, ()):
                forward.setdefault(b, set()).add(fan_in)
        seen: set[str] = set()
        todo = list(self.entries)
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(forward.get(s, ()))
        return frozenset(seen)


def graph(workflow: Workflow | Sequence[Step]) -> Graph:
    """Build the graph of a workflow's top-level steps (or of a loop ``body``). Targets naming
    no step are kept in ``successors`` as written; the validator reports them."""
    steps = tuple(workflow.steps if isinstance(workflow, Workflow) else workflow)
    order = tuple(s.id for s in steps)
    depends = {s.id: s.depends_on for s in steps if s.depends_on}
    routed = any(t != USER for s in steps if s.output for t in s.output.all_targets())
    chain = not routed and not depends
    successors: dict[str, tuple[str, ...]] = {}
    if chain:
        successors = {a: (b,) for a, b in itertools.pairwise(order)}
    else:
        for s in steps:
            targets = s.output.all_targets() if s.output else []
            successors[s.id] = tuple(dict.fromkeys(t for t in targets if t != USER))
    branches: dict[str, list[str]] = {}
    fan_ins: dict[str, str] = {}
    for st in steps:
        if st.fan_key is None:
            continue
        if st.is_fan_in:
            fan_ins.setdefault(st.fan_key, st.id)
        else:
            branches.setdefault(st.fan_key, []).append(st.id)
    entries: tuple[str, ...] = order[:1]
    if depends:
        incoming = {t for ts in successors.values() for t in ts} | set(depends)
        incoming |= {f for k, f in fan_ins.items() if branches.get(k)}
        entries += tuple(s for s in order[1:] if s not in incoming)
    preds: dict[str, set[str]] = {}
    for a, ts in successors.items():
        for t in ts:
            preds.setdefault(t, set()).add(a)
    for sid, deps in depends.items():
        preds.setdefault(sid, set()).update(deps)
    for key, fan_in in fan_ins.items():
        preds.setdefault(fan_in, set()).update(branches.get(key, ()))
    return Graph(
        chain=chain, entries=entries, successors=successors, depends=depends,
        branches={k: tuple(v) for k, v in branches.items()}, fan_ins=fan_ins, order=order,
        _preds={k: frozenset(v) for k, v in preds.items()},
    )


def cycles(wf: Workflow, g: Graph | None = None) -> list[list[str]]:
    """Each cycle of ``output.to`` / ``depends_on`` edges among the top-level steps once, starting
    at its earliest step (``[a, b]`` is ``a -> b -> a``); a chain has none."""
    g = g or graph(wf)
    if g.chain:
        return []
    index = {s.id: i for i, s in enumerate(wf.steps)}
    edges: dict[str, list[str]] = {s: [t for t in g.successors.get(s, ()) if t in index] for s in index}
    for s, deps in g.depends.items():
        for d in deps:
            if d in index:
                edges[d].append(s)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    seen: set[frozenset[str]] = set()
    found: list[list[str]] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in edges[n]:
            if state.get(m) == 1:
                cyc = stack[stack.index(m):]
                if frozenset(cyc) not in seen:
                    seen.add(frozenset(cyc))
                    start = min(range(len(cyc)), key=lambda k: index[cyc[k]])
                    found.append(cyc[start:] + cyc[:start])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for s in index:
        if s not in state:
            visit(s)
    return found
