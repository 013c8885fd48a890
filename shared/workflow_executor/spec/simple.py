"""LangSwarm's simple workflow syntax (``"extractor -> analyzer -> user"``) expanded into steps,
the way its classic loader does: one agent step per name, ids ``step_<n>_<agent>``, the first
reads the user input, each next one the previous step's output, the last answers the user.
``"a, b -> merge -> user"`` runs ``a`` and ``b`` in parallel and joins them in ``merge``.
"""

from __future__ import annotations

import re
from typing import Any

from .normalize import Collector

_NAME_RE = re.compile(r"^[A-Za-z_][\w\-]*$")


def expand(text: str, path: str, c: Collector) -> list[dict[str, Any]] | None:
    """The steps (raw, as a user would write them) for ``text``; None (with an issue) when it
    cannot be read. Agent names are checked later, like any agent step's."""
    parts = [p.strip() for p in re.split(r"\s*->\s*", text.strip())]
    if parts and parts[-1] == "user":
        parts = parts[:-1]
    fix = 'write "agent_a -> agent_b -> user" (or "a, b -> merge -> user" for parallel agents)'
    if not parts or any(not p for p in parts):
        c.add(path, f"simple syntax '{text}' names no agents", fix=fix)
        return None
    if any("(" in p or "|" in p for p in parts):
        c.add(path, f"simple syntax '{text}': conditional routing '(a | b)' is not supported here",
              fix="write the steps out with output.to: {condition: {if: ..., then: a, else: b}}")
        return None
    groups = [[n.strip() for n in p.split(",")] for p in parts]
    for g in groups:
        for name in g:
            if not _NAME_RE.match(name) or name == "user":
                c.add(path, f"simple syntax '{text}': '{name}' is not an agent name", fix=fix)
                return None
    if len(groups[0]) > 1 and len(groups) == 1:
        c.add(path, f"simple syntax '{text}': parallel agents need a step that joins them",
              fix='write "a, b -> merge -> user"')
        return None
    if any(len(g) > 1 for g in groups[1:]):
        c.add(path, f"simple syntax '{text}': only the first group may list parallel agents", fix=fix)
        return None
    steps: list[dict[str, Any]] = []
    prev: list[str] = []
    n = 0
    for g in groups:
        ids = []
        for name in g:
            n += 1
            sid = f"step_{n}_{name}"
            joined = "\n\n".join(f"${{context.step_outputs.{p}}}" for p in prev)
            text_in = joined or "${context.user_input}"
            step: dict[str, Any] = {"id": sid, "agent": name, "input": text_in}
            if len(prev) > 1:
                step["depends_on"] = list(prev)
            steps.append(step)
            ids.append(sid)
        prev = ids
    # Hand over explicitly along the chain (the parallel group reaches its join by depends_on),
    # so the last step is the one that answers the user.
    first = len(groups[0])
    start = first if first > 1 else 0
    for a, b in zip(steps[start:], steps[start + 1:], strict=False):
        a["output"] = {"to": b["id"]}
    steps[-1]["output"] = {"to": "user"}
    return steps
