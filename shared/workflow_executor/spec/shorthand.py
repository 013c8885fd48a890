"""LangSwarm's step shorthands for the loader: a step written as a bare agent name, and the
classic ``loop: true`` flag; plus the step-id rules they share with ``spec.normalize``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .model import USER
from .refs import LANGSWARM_NAMES, ROOT_NAMES

if TYPE_CHECKING:
    from .normalize import Collector

ID_RE = re.compile(r"^[A-Za-z_][\w\-]*$")
RESERVED_IDS = frozenset({USER, *ROOT_NAMES, *LANGSWARM_NAMES})


def fresh_id(base: str, used: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3`` ... the first not in ``used`` (which it joins).
    Stable: it depends only on the position and the ids written in the same list."""
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def bare_agent(text: str, path: str, used: set[str], c: Collector) -> dict[str, Any] | None:
    """A step written as a bare agent name (``- extractor_agent``): LangSwarm's parser reads it
    as an agent step of that agent with the run's input. Its id is the agent's name (the next
    free ``<name>_<n>`` when taken), so ``${extractor_agent.output}`` reads its reply."""
    name = text.strip()
    if "->" in name or not ID_RE.match(name):
        c.add(path, f"a step written as text must be an agent's name, got {text[:60]!r}",
              fix="write '- agent_name', a mapping (- {id: x, agent: a, input: ...}), or put "
                  "'a -> b -> user' in the workflow's simple: key")
        return None
    return {"id": fresh_id(name if name not in RESERVED_IDS else f"{name}_step", used), "agent": name}


def loop_flag(raw: bool, path: str, c: Collector) -> None:
    """Classic files write ``loop: true`` beside a step. LangSwarm's current parser ignores the
    key and runs the step once (its classic executor stopped with an error on it: a bool has no
    ``for_each``); the step runs once here too, with this warning."""
    c.warn(path, f"loop: {str(raw).lower()} has no effect: the step runs once, as LangSwarm runs it",
           fix="to repeat the step over items write loop: {for_each: ${<step>.output.items}, var: item}; "
               "or remove 'loop' to silence this warning")
