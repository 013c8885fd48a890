"""``{{ ... }}`` placeholders (Jinja-style, common in LangSwarm's docs) in a step's input, args or
params: a warning with the ``${...}`` fix. LangSwarm fills none of them either (its classic
executor and its V2 engine replace ``${...}`` only), so the text reaches the model as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..errors import Issue
from .model import Step

_JINJA = re.compile(r"\{\{\s*([A-Za-z_][\w.\[\]]*)\s*\}\}")
_MAX_FINDINGS = 20


def placeholder_warnings(step: Step, path: str, source: str | None) -> Iterator[Issue]:
    """One warning per ``{{ name }}`` in the step's input, args and params (at most 20)."""
    found = 0
    for key, value in (("input", step.input), ("args", step.args), ("params", step.params)):
        for where, text in _texts(value, f"{path}.{key}"):
            for m in _JINJA.finditer(text):
                if found >= _MAX_FINDINGS:
                    return
                found += 1
                yield Issue(where, f"'{m.group(0)}' is not a placeholder here: it reaches the model as "
                            "written (LangSwarm does not fill '{{ }}' either)", source, severity="warning",
                            fix=f"write ${{{m.group(1)}}} to insert the value")


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "{{" in value:
            yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _texts(v, f"{path}[{i}]")
