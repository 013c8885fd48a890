"""LangSwarm config folders: ``agents.yaml``, ``tools.yaml``, ``workflows.yaml`` (and the other
section files its loader reads) merged into one document, or a unified ``langswarm.yaml``.

As in LangSwarm's classic loader, ``<section>.yaml`` contributes its ``<section>:`` key; other
keys in it have no effect (a warning). Every finding names the file it comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Issue, SpecError
from .loader import load_file, load_object, read_yaml_file
from .model import MAX_DOCUMENT_BYTES, WorkflowDocument

UNIFIED = ("langswarm.yaml", "langswarm.yml")
MAYBE_UNIFIED = ("config.yaml", "config.yml")  # unified only when it has version/agents/workflows
# The section files LangSwarm's classic loader reads, in its order.
SECTIONS = ("agents", "tools", "retrievers", "plugins", "registries", "workflows", "secrets", "brokers")
ACTED_ON = frozenset({"agents", "tools", "workflows"})
META = ("version", "project_name", "description")


def is_config_folder(path: Path) -> bool:
    """True when ``path`` is a directory holding a unified file or a section file."""
    if not path.is_dir():
        return False
    return any((path / n).is_file() for n in (*UNIFIED, *MAYBE_UNIFIED)) or any(
        (path / f"{s}{ext}").is_file() for s in SECTIONS for ext in (".yaml", ".yml"))


def load_path(path: str | Path, *, max_bytes: int = MAX_DOCUMENT_BYTES,
              warnings: list[Issue] | None = None) -> WorkflowDocument:
    """A workflow file, or a config folder. Errors: SpecError (each issue names its file), LimitExceeded."""
    p = Path(path)
    if not p.is_dir():
        return load_file(p, max_bytes=max_bytes, warnings=warnings)
    unified = _unified(p, max_bytes)
    if unified is not None:
        return load_file(unified, max_bytes=max_bytes, warnings=warnings)
    return _load_sections(p, max_bytes, warnings)


def _unified(folder: Path, max_bytes: int) -> Path | None:
    for name in UNIFIED:
        if (folder / name).is_file():
            return folder / name
    for name in MAYBE_UNIFIED:
        f = folder / name
        if f.is_file():
            data = read_yaml_file(f, max_bytes=max_bytes)
            if isinstance(data, dict) and any(k in data for k in ("version", "agents", "workflows")):
                return f
    return None


def _load_sections(folder: Path, max_bytes: int, warnings: list[Issue] | None) -> WorkflowDocument:
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}  # top-level key -> the file it came from
    notes: list[Issue] = []
    found = False
    for section in SECTIONS:
        f = next((folder / f"{section}{ext}" for ext in (".yaml", ".yml") if (folder / f"{section}{ext}").is_file()),
                 None)
        if f is None:
            continue
        found = True
        if section not in ACTED_ON:
            notes.append(Issue(path="<document>", file=str(f), severity="warning",
                               message=f"{f.name} configures LangSwarm's own runtime ({section}); it has no "
                                       "effect here and is not read", fix=f"remove {f.name} to silence this warning"))
            continue
        data = read_yaml_file(f, max_bytes=max_bytes)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise SpecError([Issue(path="<document>", file=str(f), fix=f"start it with '{section}:'",
                                   message=f"{f.name} must be a mapping with a '{section}:' key, "
                                           f"got {type(data).__name__}")])
        for key, value in data.items():
            if key == section:
                merged[key] = value
                origin[key] = str(f)
            elif key in META:
                merged.setdefault(key, value)
                origin.setdefault(key, str(f))
            else:
                notes.append(Issue(path=str(key), file=str(f), severity="warning",
                                   message=f"LangSwarm reads only '{section}' from {f.name}; '{key}' has no effect",
                                   fix=f"move '{key}' into its own section file, or remove it"))
    if not found:
        raise SpecError([Issue(path="<document>", file=str(folder),
                               message="not a LangSwarm config folder: no langswarm.yaml and no section files",
                               fix="add workflows.yaml (with workflows:) and agents.yaml (with agents:), "
                                   "or a single langswarm.yaml")])
    if "workflows" not in merged:
        raise SpecError([Issue(path="workflows", file=str(folder / "workflows.yaml"),
                               message="the config folder has no workflows.yaml (or it has no 'workflows:' key)",
                               fix="add workflows.yaml with workflows: {name: {steps: [...]}}")], warnings=notes)
    inner: list[Issue] = []
    try:
        doc = load_object(merged, source=str(folder), warnings=inner)
    except SpecError as exc:
        raise SpecError([_attribute(i, origin) for i in exc.issues],
                        warnings=notes + [_attribute(w, origin) for w in exc.warnings]) from None
    if warnings is not None:
        warnings.extend(notes + [_attribute(w, origin) for w in inner])
    return doc


def _attribute(issue: Issue, origin: dict[str, str]) -> Issue:
    """Name the section file an issue's path points into (``workflows.x...`` -> workflows.yaml)."""
    head = issue.path.split(".", 1)[0].split("[", 1)[0]
    f = origin.get(head)
    if f is None:
        return issue
    return Issue(path=issue.path, message=issue.message, file=f, severity=issue.severity, fix=issue.fix)


def attribute_all(issues: list[Issue], folder: Path) -> list[Issue]:
    """Issues from validating a folder's document, each pointed at its section file."""
    origin = {s: str(f) for s in ACTED_ON for ext in (".yaml", ".yml")
              if (f := folder / f"{s}{ext}").is_file()}
    return [_attribute(i, origin) for i in issues]
