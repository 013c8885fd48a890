"""A workflow's YAML: the text it was registered with (kept with each version, comments and
all), else the file it came from when that file is under the server's workflow roots, else the
stored document written as YAML (empty fields left out); the version an execution ran, and a
unified diff to the latest version."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from ..mcp.files import under_roots
from ..models import StoredWorkflow
from ..ports import WorkflowRegistry
from ..settings import Settings
from .html import esc

MAX_DIFF_LINES = 400
MAX_SOURCE_CHARS = 200_000


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v not in (None, [], {}, ())}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def text_of(stored: StoredWorkflow, settings: Settings | None = None) -> str:
    """The YAML of ``stored``: the text it was registered with; else, with ``settings``, its
    file's text when it came from a file under a root (pass them only for the latest version: the
    file is what the latest was read from); else its document as YAML."""
    if stored.source_text is not None:
        return stored.source_text[:MAX_SOURCE_CHARS]
    if stored.source and settings is not None:
        path = Path(stored.source)
        try:
            if path.is_file() and under_roots(settings, path):
                return path.read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE_CHARS]
        except OSError:
            pass
    return str(yaml.safe_dump(_pruned(stored.document), sort_keys=False, allow_unicode=True, width=100))


def diff(old: StoredWorkflow, new: StoredWorkflow) -> str:
    """A unified diff from ``old`` to ``new`` as escaped HTML lines (added / removed classes)."""
    lines = list(difflib.unified_diff(text_of(old).splitlines(), text_of(new).splitlines(),
                                      f"v{old.version}", f"v{new.version}", lineterm=""))[:MAX_DIFF_LINES]
    out = []
    for line in lines:
        cls = "add" if line.startswith("+") and not line.startswith("+++") else (
            "del" if line.startswith("-") and not line.startswith("---") else "")
        out.append(f'<span class="{cls}">{esc(line)}</span>' if cls else esc(line))
    return "\n".join(out)


def section(registry: WorkflowRegistry, settings: Settings, name: str, workflow_hash: str) -> str:
    """The source of the version that ran, and its diff to the latest (when they differ)."""
    ran = registry.get(name, workflow_hash)
    if ran is None:
        return ""
    latest = registry.get(name)
    shown = text_of(ran, settings if latest is not None and latest.hash == ran.hash else None)
    head = f"<h2>Workflow source <span class=\"muted\">v{esc(ran.version)} (the version that ran)</span></h2>"
    body = (f'<div class="payload"><button type="button" class="copy" data-action="copy">Copy</button>'
            f'<pre class="raw source">{esc(shown)}</pre></div>')
    if latest is not None and latest.hash != ran.hash:
        body += (f"<h3>Changes since: v{esc(ran.version)} → latest v{esc(latest.version)}</h3>"
                 f'<pre class="diff">{diff(ran, latest)}</pre>')
    return head + body
