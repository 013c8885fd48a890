"""Keys that LangSwarm accepts and we do not act on: a warning that names the key and its
effect, never an error (LangSwarm ignores unknown keys; its users' files carry many).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .normalize import Collector

_RUNTIME = "it configures LangSwarm's own runtime and has no effect here; it is ignored"

# Top-level sections LangSwarm reads for its own runtime (or for nothing at all).
TOP_NOTES: dict[str, str] = {
    **{k: _RUNTIME for k in ("memory", "observability", "langswarm", "advanced", "server", "security",
                             "retrievers", "plugins", "registries", "brokers", "secrets", "queues",
                             "providers", "environment", "policies", "config", "config_name")},
    "name": "a display name; it has no effect here (workflows are known by their ids)",
    "include": "LangSwarm merges the named files into this one; here it has no effect: copy their "
               "sections into this file or put them in the config folder",
    "includes": "LangSwarm merges the named files into this one; here it has no effect: copy their "
                "sections into this file or put them in the config folder",
}

WORKFLOW_NOTES: dict[str, str] = {
    "name": "a display name; it has no effect here (the workflow is known by its id)",
    "async": "in LangSwarm it runs the workflow on its async path; here it has no effect: the caller "
             "picks sync, async or isolated (execution_mode)",
    "execution_mode": "in LangSwarm it picks sync/async/parallel; here it has no effect: the caller picks "
                      "sync, async or isolated (execution_mode), and branches already run in parallel",
    "continue_on_error": "in LangSwarm the run goes on after a failed step; here a failed step fails the run",
    "settings": "it has no effect here; it is ignored",
    "version": "it has no effect here; it is ignored",
    "input_schema": "it has no effect here; the input is not checked against it",
    "output_schema": "it has no effect here; the result is not checked against it",
    # LangSwarm V2's workflow fields that its parser does not read, or that configure its runtime
    "variables": "LangSwarm's V2 parser does not read it either; pass values in the run's input "
                 "(${input.<name>}) or name them under inputs: [...]",
    "metadata": "it has no effect here; it is ignored",
    "observability": "it configures LangSwarm's tracing and metrics; here every run is traced and logged "
                     "by the operator's settings, so it is ignored",
    "middleware": _RUNTIME,
    "max_parallel_steps": "it has no effect here: parallel branches run together, bounded by the server's "
                          "fan-out limit",
    "policy": _RUNTIME,
}

STEP_NOTES: dict[str, str] = {
    "name": "a display name; it has no effect here (the step is known by its id)",
    "output_key": "LangSwarm does not act on it either; read the output as ${<step id>.output}",
    "await": "it has no effect here: a step always finishes before its targets start",
    "async": "in LangSwarm it runs the step on its async path; here it has no effect: parallel targets "
             "already run concurrently",
    "no_mcp": "in LangSwarm the agent picks one of the listed tools; here it has no effect: give the agent "
              "tools: [...] instead",
    "navigation": "in LangSwarm the agent picks the next step; here it has no effect: route with "
                  "output.to and a condition instead",
    "script": "inline code is never run here; the step runs its function, which must be a built-in or "
              "an allow-listed function",
    "rollback_to": "in LangSwarm a failed step jumps back to that step; here it has no effect: use retry",
    "rollback_limit": "in LangSwarm it bounds rollback_to; here it has no effect",
    "fan_in_id": "it has no effect here: a fan-in step joins by fan_key",
    # LangSwarm V2's step fields that its parser does not read, or that configure its runtime
    "metadata": "it has no effect here; it is ignored",
    "config": _RUNTIME,
    "middleware": _RUNTIME,
    "observability": "it configures LangSwarm's tracing and metrics; here every step is traced and logged "
                     "by the operator's settings, so it is ignored",
}


def lenient_keys(raw: dict[str, Any], allowed: tuple[str, ...], path: str, c: Collector, what: str,
                 notes: dict[str, str]) -> None:
    """Warn about each key of ``raw`` that is not in ``allowed``: with its note when LangSwarm
    knows it, else as an unknown key (with the nearest known key as a hint)."""
    for key in raw:
        if key in allowed:
            continue
        where = f"{path}.{key}" if path else str(key)
        note = notes.get(str(key))
        if note is not None:
            c.warn(where, f"{what} key '{key}': {note}", fix=f"remove '{key}' to silence this warning")
            continue
        near = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        c.warn(where, f"unknown {what} key '{key}' has no effect here (LangSwarm ignores it too)",
               fix=f"{hint}known {what} keys: {', '.join(allowed)}")
