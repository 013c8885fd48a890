"""Functions the agent tests allow as tools (WFX_FUNCTION_MODULES=agent_fns): each call is logged,
so a test can count how often a tool really ran."""

from __future__ import annotations

from pathlib import Path


def mark(log: str, name: str) -> str:
    """Append ``name`` to the file ``log``; returns ``marked <name>``."""
    with Path(log).open("a") as f:
        f.write(name + "\n")
    return f"marked {name}"


def count(log: str, name: str) -> int:
    path = Path(log)
    return path.read_text().splitlines().count(name) if path.exists() else 0
