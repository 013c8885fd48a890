"""A workflow's YAML as it was registered (the stored source; the normalised document only
when none was kept), the version an execution ran, and a unified diff to the latest version."""

from __future__ import annotations

import difflib
import json

from ..models import StoredWorkflow
from ..ports import WorkflowRegistry
from .html import esc

MAX_DIFF_LINES = 400


def text_of(stored: StoredWorkflow) -> str:
    """The YAML source as registered, else the document as JSON."""
    return stored.source or json.dumps(stored.document, indent=2, ensure_ascii=False)


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


def section(registry: WorkflowRegistry, name: str, workflow_hash: str) -> str:
    """The source of the version that ran, and its diff to the latest (when they differ)."""
    ran = registry.get(name, workflow_hash)
    if ran is None:
        return ""
    latest = registry.get(name)
    head = f"<h2>Workflow source <span class=\"muted\">v{esc(ran.version)} (the version that ran)</span></h2>"
    body = (f'<div class="payload"><button type="button" class="copy" data-action="copy">Copy</button>'
            f'<pre class="raw source">{esc(text_of(ran))}</pre></div>')
    if latest is not None and latest.hash != ran.hash:
        body += (f"<h3>Changes since: v{esc(ran.version)} → latest v{esc(latest.version)}</h3>"
                 f'<pre class="diff">{diff(ran, latest)}</pre>')
    return head + body
