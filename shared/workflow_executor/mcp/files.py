"""Workflow files under the operator's roots (``settings.workflow_roots``). A caller's path
never escapes a root: no ``..``, no absolute path outside a root, no symlink that leaves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..errors import InvalidArgument
from ..settings import Settings

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


def workflow_files(settings: Settings, config_path: str | None = None,
                   pattern: str = "*.yaml") -> Iterator[tuple[Path, Path]]:
    """(root, file) for each matching regular file inside a root, at most MAX_FILES."""
    check_pattern(pattern)
    seen: set[Path] = set()
    for root, d in search_dirs(settings, config_path):
        try:
            found = sorted(d.glob(pattern))
        except (ValueError, OSError):
            raise InvalidArgument(f"pattern '{pattern[:200]}' is not a valid glob",
                                  fix="use e.g. '*.yaml' or '**/*.yaml'", field="pattern") from None
        for f in found:
            if len(seen) >= MAX_FILES:
                return
            if f.is_file() and inside(root, f) and f.resolve() not in seen:
                seen.add(f.resolve())
                yield root, f


def under_roots(settings: Settings, path: Path) -> bool:
    """True when ``path`` (symlinks followed) lies inside one of the roots."""
    return any(inside(root, path) for root in roots(settings))


def find_file(settings: Settings, name: str) -> Path | None:
    """The workflow file ``name`` names (a path relative to a root, or absolute inside one),
    or None when ``name`` does not look like a file path or no such file exists."""
    if not name.endswith(WORKFLOW_SUFFIXES):
        return None
    for root, p in _relative(settings, name, "workflow_name"):
        if p.is_file() and inside(root, p):
            return p
    return None


def display(root: Path, f: Path) -> str:
    """A file as callers see it: relative to its root."""
    try:
        return f.relative_to(root).as_posix()
    except ValueError:
        return f.name
