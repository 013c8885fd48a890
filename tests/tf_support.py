"""Reading infra/ for the structural Terraform tests: every resource and local of its .tf files
(python-hcl2, strings unquoted), so a test asserts on the configuration as written."""

from __future__ import annotations

from typing import Any

import hcl2
from wfx_procs import ROOT

INFRA = ROOT / "infra"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                    preserve_heredocs=False)


def blocks(kind: str) -> list[dict[str, Any]]:
    """Every top-level ``kind`` entry (resource, locals, variable ...) of infra/*.tf."""
    return [entry for path in sorted(INFRA.glob("*.tf"))
            for entry in hcl2.loads(path.read_text(), serialization_options=OPTIONS).get(kind, [])]


def resources() -> dict[tuple[str, str], Any]:
    """Each resource's body by (type, name)."""
    return {(rtype, name): body for entry in blocks("resource") for rtype, by_name in entry.items()
            for name, body in by_name.items()}


def locals_() -> dict[str, Any]:
    """Every local value by name."""
    out: dict[str, Any] = {}
    for entry in blocks("locals"):
        out.update(entry)
    return out
