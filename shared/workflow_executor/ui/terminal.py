"""``wfx watch``: the web view's step tree in the terminal (rich), refreshed until the run ends."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from ..models import Execution
from ..ports import ExecutionStore
from ..spec.model import WorkflowDocument
from ..usage_view import dollars
from .html import seconds
from .steptree import rows

ICONS = {"waiting": ("⏸", "yellow"), "completed": ("✓", "green"), "failed": ("✗", "red"), "running": ("▶", "blue"),
         "skipped": ("-", "dim"), "cancelled": ("■", "yellow"), "timeout": ("⏱", "yellow"), "queued": ("○", "dim")}


def tree(store: ExecutionStore | None, ex: Execution, doc: WorkflowDocument | None, now: float) -> Tree:
    """The step tree of ``ex``: steps, then each child execution and its steps nested below
    the step that started it (when ``store`` and ``doc`` are given; through an endpoint there are
    neither). Text from the store is never read as markup."""
    took = seconds((ex.ended_at_s or now) - (ex.started_at_s or ex.created_at_s))
    icon, color = ICONS.get(ex.status.value, ("?", "white"))
    head = Text.assemble((f"{icon} ", color), (ex.workflow_name, "bold"),
                         f"  {ex.status.value}  {ex.progress.completed}/{ex.progress.total} steps  {took}")
    if ex.usage.cpu_s:
        head.append(f"  cpu {seconds(ex.usage.cpu_s)}")
    if ex.usage.prompt_tokens or ex.usage.completion_tokens:
        head.append(f"  {ex.usage.prompt_tokens + ex.usage.completion_tokens} tokens")
    if ex.usage.cost_usd:
        head.append(f"  {dollars(ex.usage.cost_usd)}")
    root = Tree(head)
    parents: list[Tree] = [root]
    for r in rows(store, ex, doc, now)[0]:
        icon, color = ICONS.get(r.status, ("?", "white"))
        label = Text.assemble((f"{icon} ", color), r.label, (f"  {seconds(r.end - r.start)}", "dim"),
                              (f"  {r.note}" if r.note else "", "dim"))
        depth = min(r.indent, len(parents) - 1)
        node = parents[depth].add(label)
        del parents[depth + 1:]
        parents.append(node)
    if ex.error is not None:
        root.add(Text(f"error: [{ex.error.code}] {ex.error.message}", style="red"))
    return root
