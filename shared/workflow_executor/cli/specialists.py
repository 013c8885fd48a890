"""``wfx troubleshoot ID`` and ``wfx advise FILE``: the rule-based part of the Troubleshooter and
the Advisor (diagnose.py), no model needed; locally or with ``--url`` through the endpoint."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..advice import advise_here, loaded
from ..diagnose import Finding, advice_text, troubleshoot, troubleshoot_text
from ..errors import Issue, SpecError
from ..spec.model import WorkflowDocument

Factory = Callable[[argparse.Namespace], Any]


def cmd_troubleshoot(a: argparse.Namespace, executor: Any) -> int:
    """Diagnose an execution: its error and fix, the failing step's attempts and input, the
    steps it ran and never reached, the fixes to try. Exit 0 (the diagnosis is the answer)."""
    ex = executor.status(a.execution_id)
    doc = None
    registry = getattr(executor, "registry", None)  # remote: the server keeps the document
    if registry is not None and (stored := registry.get(ex.workflow_name, ex.workflow_hash)) is not None:
        doc = WorkflowDocument.model_validate(stored.document)
    found = troubleshoot(ex, doc)
    print(json.dumps(found, indent=2, ensure_ascii=False, default=str) if a.json else troubleshoot_text(found))
    return 0


def cmd_advise(a: argparse.Namespace, executor: Any) -> int:
    """Validate a workflow file or folder and add the rule-based findings (unreachable steps,
    missing tools, loops without a bound, agents without a model). Exit 1 when invalid."""
    path = Path(a.file)
    if getattr(executor, "remote", False):
        out = executor.validate(path)
        errors = [Issue(e.get("path", ""), e.get("message", ""), fix=e.get("fix")) for e in out.get("errors", [])]
        warnings = [Issue(w.get("path", ""), w.get("message", ""), severity="warning")
                    for w in out.get("warnings", [])]
        findings = [Finding(**f) for f in out.get("findings", [])]
    else:
        try:
            doc, report = executor.check(path)
            errors, warnings = [], list(report.warnings)
        except SpecError as err:
            errors, warnings, doc = list(err.issues), list(err.warnings), loaded(path)
        findings = advise_here(executor, doc) if doc is not None else []
    if a.json:
        print(json.dumps({"file": a.file, "valid": not errors, "errors": [e.to_dict() for e in errors],
                          "warnings": [w.to_dict() for w in warnings],
                          "findings": [f.to_dict() for f in findings]}, indent=2, ensure_ascii=False))
    else:
        print(f"{a.file}: " + advice_text(findings, errors, warnings))
    return 1 if errors else 0


def register(sub: Any, executor: Factory) -> None:
    """Add both commands to the ``wfx`` sub-parsers; ``executor(args)`` is the CLI's local or
    remote executor."""
    t = sub.add_parser("troubleshoot", help="why an execution failed and what to do (no model needed)")
    t.add_argument("execution_id", help="the execution id (`wfx executions` lists them)")
    t.add_argument("--json", action="store_true", help="print JSON instead of text")
    t.set_defaults(fn=lambda a: cmd_troubleshoot(a, executor(a)))
    v = sub.add_parser("advise", help="validate a workflow and list what will not run as meant")
    v.add_argument("file", metavar="FILE|DIR", help="the workflow file or LangSwarm config folder")
    v.add_argument("--json", action="store_true", help="print JSON instead of text")
    v.set_defaults(fn=lambda a: cmd_advise(a, executor(a)))
