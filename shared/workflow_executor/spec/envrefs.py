"""Shell-style environment references in a tool's configuration (``"${DATASET:-vector_search}"``,
common in LangSwarm files): a document never reads this server's environment, so a reference
stands for its default when it has one and for "not set" otherwise. One rule, for the tools
(agents/tools/base.tool_setting) and for validation's warning."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}$")
SECTIONS = ("settings", "config")
OWN_RULE = frozenset({"headers"})  # read from the environment only as the operator allows (WFX_MCP_HEADER_ENV)


def resolved(value: Any) -> Any:
    """``value`` with a whole-value environment reference replaced by its default (None without one)."""
    if isinstance(value, str) and (m := _REF.match(value.strip())):
        return m.group(2)
    return value


def references(extra: Mapping[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(key path, reference, default) of each reference among a tool's extra keys, nested
    ``settings`` / ``config`` included (not the keys of OWN_RULE)."""
    for key, value in extra.items():
        if key in SECTIONS and isinstance(value, Mapping):
            for inner, v in value.items():
                if isinstance(inner, str) and isinstance(v, str) and (m := _REF.match(v.strip())):
                    yield f"{key}.{inner}", v.strip(), m.group(2)
        elif key not in OWN_RULE and isinstance(value, str) and (m := _REF.match(value.strip())):
            yield key, value.strip(), m.group(2)
