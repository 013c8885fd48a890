"""A template generator: natural language -> a workflow document, without an LLM.

The description is split into steps (sentences, "then", numbered lists); each step becomes an
``agent`` step when agents are given, else a ``builtins.echo`` function step. The caller
validates the result (``Executor.check``) before storing it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..errors import InvalidArgument

COMPLEXITY_STEPS = {"simple": 2, "medium": 5, "complex": 10}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_SPLIT = re.compile(r"(?:\n+|;|(?<=[.!?])\s+|\bthen\b|\band then\b|^\s*\d+[.)]\s*)", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")
_LEAD = re.compile(r"^(?:and|then|finally|next|also)\b[\s,]*", re.IGNORECASE)


def split_tasks(description: str, complexity: str = "medium") -> list[str]:
    """The step texts of ``description``: at most as many as ``complexity`` allows (the
    surplus is folded into the last step), at least one."""
    limit = COMPLEXITY_STEPS.get(complexity)
    if limit is None:
        raise InvalidArgument(f"complexity '{complexity}' is not one of simple, medium, complex",
                              fix="use simple, medium or complex", field="complexity")
    parts = [_LEAD.sub("", p.strip(" ,.-\t")) for p in _SPLIT.split(description) if p and p.strip(" ,.-\t")]
    parts = [p for p in parts if _WORD.search(p.lower())] or [description.strip() or "step"]
    if len(parts) > limit:
        parts = [*parts[: limit - 1], "; ".join(parts[limit - 1:])]
    return parts


def default_name(description: str) -> str:
    """A stable name: ``generated_`` + the first words + a short hash of the description."""
    words = _WORD.findall(description.lower())[:4]
    digest = hashlib.sha256(description.encode("utf-8")).hexdigest()[:8]
    return "_".join(["generated", *words, digest])[:64]


def generate(
    description: str,
    workflow_name: str | None = None,
    agents_config: dict[str, Any] | None = None,
    tools_config: dict[str, Any] | None = None,
    complexity: str = "medium",
) -> tuple[str, dict[str, Any]]:
    """Return ``(workflow_name, document)``. ``agents_config`` maps agent ids to agent
    settings (``model``, ``system_prompt``, ...); steps take turns among the agents.
    Errors: InvalidArgument for a bad name or complexity (the document itself is validated
    by the caller)."""
    name = workflow_name or default_name(description)
    if not NAME_RE.match(name):
        raise InvalidArgument(f"workflow_name '{name[:80]}' is not a valid name",
                              fix="use letters, digits, '_', '-' or '.', starting with a letter or '_'",
                              field="workflow_name")
    tasks = split_tasks(description, complexity)
    agent_ids = list(agents_config or {})
    steps: list[dict[str, Any]] = []
    prev: str | None = None
    for i, task in enumerate(tasks, start=1):
        text = _safe_text(task)
        step_id = f"step_{i}_" + "_".join(_WORD.findall(text.lower())[:3])
        step: dict[str, Any] = {"id": step_id[:48], "description": text}
        if agent_ids:
            step["agent"] = agent_ids[(i - 1) % len(agent_ids)]
            step["input"] = f"{text}\n\n${{user_input}}" if prev is None else (
                f"{text}\n\n${{context.step_outputs.{prev}}}")
        else:
            value: dict[str, Any] = {"task": text, "input": "${input}"}
            if prev is not None:
                value["previous"] = f"${{context.step_outputs.{prev}}}"
            step["function"] = "builtins.echo"
            step["args"] = {"value": value}
        steps.append(step)
        prev = step["id"]
    doc: dict[str, Any] = {
        "version": "1.0",
        "project_name": "generated",
        "description": _safe_text(description)[:500],
        "workflows": {name: {"description": _safe_text(description)[:500], "steps": steps}},
    }
    if agents_config:
        doc["agents"] = {aid: dict(cfg or {}) if isinstance(cfg, dict) else cfg
                         for aid, cfg in agents_config.items()}
    if tools_config:
        doc["tools"] = dict(tools_config)
    return name, doc


def _safe_text(text: str) -> str:
    # A description is data, never a reference: "${...}" in it must not become interpolation.
    return text.replace("${", "$ {").strip()
