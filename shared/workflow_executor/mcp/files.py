"""Workflow files under the operator's roots (``settings.workflow_roots``). A caller's path
never escapes a root: no ``..``, no absolute path outside a root, no symlink that leaves it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InvalidArgument
from ..settings import Settings
from ..spec.folder import SECTIONS, UNIFIED, is_config_folder

MAX_FILES = 500
WORKFLOW_SUFFIXES = (".yaml", ".yml", ".json")


def roots(settings: Settings) -> list[Path]:
    """The existing roots, resolved."""
    out: list[Path] = []
    for r in settings.workflow_roots:
        try:
            p = r.resolve()
        except OSError:
            continue
        if p.is_dir() and p not in out:
            out.append(p)
    return out


def inside(root: Path, candidate: Path) -> bool:
    """True when ``candidate`` (symlinks followed) is ``root`` or below it."""
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError):
        return False
    return real == root or root in real.parents


def _relative(settings: Settings, text: str, what: str) -> list[tuple[Path, Path]]:
    """(root, path) pairs for a caller's path: relative to each root, or absolute inside one."""
    if "\x00" in text or any(part == ".." for part in PurePosixPath(text.replace("\\", "/")).parts):
        raise InvalidArgument(f"{what} '{text[:200]}' may not contain '..'",
                              fix="use a path relative to a workflow root", field=what)
    p = Path(text)
    if p.is_absolute():
        hits = [(root, p) for root in roots(settings) if inside(root, p)]
        if not hits:
            raise InvalidArgument(f"{what} '{text[:200]}' is outside the workflow roots",
                                  fix="use a path relative to a workflow root", field=what)
        return hits
    return [(root, root / p) for root in roots(settings)]


def search_dirs(settings: Settings, config_path: str | None) -> list[tuple[Path, Path]]:
    """(root, directory) pairs to search. Errors: InvalidArgument (field config_path)."""
    if not config_path or config_path == ".":
        return [(r, r) for r in roots(settings)]
    pairs = _relative(settings, config_path, "config_path")
    for root, d in pairs:
        if d.exists() and not inside(root, d):
            raise InvalidArgument(f"config_path '{config_path[:200]}' leaves the workflow root through a link",
                                  fix="use a directory inside the root", field="config_path")
    return [(root, d) for root, d in pairs if d.is_dir()]


def check_pattern(pattern: str) -> None:
    """Errors: InvalidArgument (field pattern) for an absolute glob or one with '..'."""
    if pattern.startswith(("/", "\\")) or ".." in pattern or "\x00" in pattern:
        raise InvalidArgument(f"pattern '{pattern[:200]}' must be a relative glob without '..'",
                              fix="use e.g. '*.yaml' or '**/*.yaml'", field="pattern")


_FOLDER_FILES = frozenset({*UNIFIED, *(f"{s}{ext}" for s in SECTIONS for ext in (".yaml", ".yml"))})


def workflow_files(settings: Settings, config_path: str | None = None,
                   pattern: str = "*.yaml") -> Iterator[tuple[Path, Path]]:
    """(root, file) for each matching regular file inside a root, at most MAX_FILES. A LangSwarm
    config folder (``agents.yaml`` + ``workflows.yaml``, or ``langswarm.yaml``) is one entry:
    the folder itself, in place of its section files. A ``config_path`` that is such a
    folder yields just the folder."""
    check_pattern(pattern)
    seen: set[Path] = set()
    for root, d in search_dirs(settings, config_path):
        if config_path and config_path != "." and _folder(d):
            if d.resolve() not in seen:
                seen.add(d.resolve())
                yield root, d
            continue
        try:
            found = sorted(d.glob(pattern))
        except (ValueError, OSError):
            raise InvalidArgument(f"pattern '{pattern[:200]}' is not a valid glob",
                                  fix="use e.g. '*.yaml' or '**/*.yaml'", field="pattern") from None
        for f in found:
            if len(seen) >= MAX_FILES:
                return
            if not (f.is_file() and inside(root, f)):
                continue
            unit = f.parent if f.name in _FOLDER_FILES and _folder(f.parent) else f
            if unit.resolve() not in seen:
                seen.add(unit.resolve())
                yield root, unit
        # LangSwarm tool folders one level down (a root that holds several of them)
        for child in sorted(p for p in d.iterdir() if p.is_dir()) if d.is_dir() else []:
            if len(seen) >= MAX_FILES:
                return
            if child.resolve() not in seen and inside(root, child) and _folder(child):
                seen.add(child.resolve())
                yield root, child


def _folder(d: Path) -> bool:
    """A config folder as LangSwarm finds one: a unified file, or workflows.yaml (its agents may
    live beside it in agents.yaml)."""
    return is_config_folder(d) and any((d / n).is_file() for n in (*UNIFIED, "workflows.yaml", "workflows.yml"))


def under_roots(settings: Settings, path: Path) -> bool:
    """True when ``path`` (symlinks followed) lies inside one of the roots."""
    return any(inside(root, path) for root in roots(settings))


def find_file(settings: Settings, name: str) -> Path | None:
    """The workflow file or LangSwarm config folder ``name`` names (a path relative to a root,
    or absolute inside one), or None when ``name`` names no such file or folder."""
    try:
        pairs = _relative(settings, name, "workflow_name")
    except InvalidArgument:
        if name.endswith(WORKFLOW_SUFFIXES):
            raise
        return None  # a plain workflow name, not a path
    for root, p in pairs:
        if not inside(root, p):
            continue
        if name.endswith(WORKFLOW_SUFFIXES) and p.is_file():
            return p
        if p.is_dir() and _folder(p):
            return p
    return None


def defining_files(settings: Settings) -> Iterator[tuple[Path, Path]]:
    """(root, file) for every file under the roots that may define workflows by name: YAML and
    JSON alike (a name lookup and a name reservation must see the same files)."""
    for pattern in ("**/*.y*ml", "**/*.json"):
        yield from workflow_files(settings, None, pattern)


def display(root: Path, f: Path) -> str:
    """A file as callers see it: relative to its root."""
    try:
        return f.relative_to(root).as_posix()
    except ValueError:
        return f.name


def relative_paths(settings: Settings, value: Any) -> Any:
    """``value`` (text, or JSON data holding text, such as an error result) with every file under
    a workflow root named relative to its root, as ``display`` names it: what a caller is told
    (a file that does not load, a limit it broke) never shows the server's absolute paths."""
    prefixes = sorted({f"{form}{os.sep}" for r in settings.workflow_roots for form in _absolute_forms(r)},
                      key=len, reverse=True)  # a root inside another root is cut first

    def cut(v: Any) -> Any:
        if isinstance(v, str):
            for prefix in prefixes:
                v = v.replace(prefix, "")
            return v
        if isinstance(v, dict):
            return {k: cut(x) for k, x in v.items()}
        if isinstance(v, list):
            return [cut(x) for x in v]
        return v

    return cut(value) if prefixes else value


def _absolute_forms(root: Path) -> set[str]:
    """The root as configured (made absolute) and with its links resolved; never ``/`` alone."""
    forms = {str(root.absolute())}
    with contextlib.suppress(OSError, RuntimeError):
        forms.add(str(root.resolve()))
    return {f for f in forms if f.rstrip(os.sep)}
