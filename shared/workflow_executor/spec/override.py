"""``config_override``: merged into a stored document for one run, and the warnings for the
parts of it that change nothing here (an agent or workflow the document does not have, a
section such as LangSwarm's ``memory`` that this server does not read)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import Issue
from .lenient import TOP_NOTES

# the sections of a document that a run reads (loader.TOP_KEYS without the descriptive ones)
_READ = ("agents", "tools", "workflows", "triggers", "schedules", "schedule", "settings", "version",
         "project_name", "description")
_KEYED = {"agents": "agent", "workflows": "workflow"}


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``; keys may be dotted paths (``agents.a1.model``)."""
    for key, value in override.items():
        target = base
        parts = str(key).split(".")
        for p in parts[:-1]:
            nxt = target.get(p)
            if not isinstance(nxt, dict):
                nxt = target[p] = {}
            target = nxt
        last = parts[-1]
        if isinstance(value, Mapping) and isinstance(target.get(last), dict):
            deep_merge(target[last], value)
        else:
            target[last] = copy.deepcopy(value)
    return base


def override_warnings(base: Mapping[str, Any], override: Mapping[str, Any]) -> list[Issue]:
    """Warnings (path ``config_override.<key>``) for each part of ``override`` that has no
    effect on ``base`` (a stored, normalised document: agents and workflows keyed by id)."""
    out: list[Issue] = []
    seen: set[tuple[str, ...]] = set()
    for key, parts in _paths(override):
        section = parts[0]
        where = f"config_override.{key}"
        if section not in _READ:
            if (section,) not in seen:
                seen.add((section,))
                note = TOP_NOTES.get(section, "this server does not read it")
                out.append(Issue(where, f"section '{section}' has no effect here: {note}", severity="warning",
                                 fix=f"remove '{section}' from config_override"))
            continue
        kind = _KEYED.get(section)
        known = base.get(section)
        if kind is None or len(parts) < 2 or not isinstance(known, Mapping) or parts[1] in known:
            continue
        if (section, parts[1]) in seen:
            continue
        seen.add((section, parts[1]))
        have = ", ".join(known) or "none"
        out.append(Issue(where, f"the workflow has no {kind} '{parts[1]}' (it has: {have}); the override adds "
                         f"one that nothing uses, so it has no effect", severity="warning",
                         fix=f"name one of its {section}: {have}"))
    return out


def _paths(override: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(the key as written, its path parts down to ``section.id``) for each key of ``override``."""
    for key, value in override.items():
        parts = str(key).split(".")
        if len(parts) == 1 and isinstance(value, Mapping) and parts[0] in _KEYED:
            for sub in value:
                yield f"{key}.{sub}", [parts[0], str(sub)]
        else:
            yield str(key), parts
