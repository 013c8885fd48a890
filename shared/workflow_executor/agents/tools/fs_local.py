"""Files under the operator's roots (``WFX_FS_ROOTS``) for the ``filesystem`` tool.

A path is ``<root name>/<relative path>`` (with a single root, the root name may be left out).
``..``, absolute paths and symlinks that lead out of the root are refused with
``path_not_allowed``. Results and errors show only root-relative paths, never where a root is
on the server.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import InvalidArgument, LimitExceeded, NotFound, PathNotAllowed, ToolFailed

MAX_LIST = 1000
MAX_SEARCH_FILES = 5000
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Target:
    """A checked path: its root and where it leads (``shown`` is what callers may see)."""

    root: str
    base: Path   # the root, resolved
    path: Path   # the target, resolved (inside base)
    shown: str


class LocalRoots:
    """The roots one tool may use (the operator's, optionally narrowed by the tool's ``roots``)."""

    def __init__(self, roots: tuple[tuple[str, Path], ...]) -> None:
        self.roots = {name: path for name, path in roots}

    def names(self) -> list[str]:
        return list(self.roots)

    def resolve(self, raw: str, *, must_exist: bool = True) -> Target:
        """Check ``raw`` and find it. Errors: PathNotAllowed (``..``, absolute, symlink out of
        the root, unknown root), NotFound (``must_exist`` and nothing there)."""
        if not self.roots:
            raise PathNotAllowed("no filesystem roots are configured on this server",
                                 fix="the operator can allow folders with WFX_FS_ROOTS=name=/path")
        text = (raw or "").strip()
        if "\x00" in text:
            raise InvalidArgument("the path contains a NUL character", fix="pass a plain relative path")
        if text.startswith(("/", "\\", "~")) or _DRIVE.match(text):
            raise PathNotAllowed("absolute paths are not allowed",
                                 fix=f"use a path relative to a root: {self._example()}")
        parts = [p for p in re.split(r"[\\/]+", text) if p not in ("", ".")]
        if ".." in parts:
            raise PathNotAllowed(f"'..' is not allowed in paths ('{_clip(text)}')",
                                 fix=f"use a path inside a root without '..': {self._example()}")
        if parts and parts[0] in self.roots:
            root, rest = parts[0], parts[1:]
        elif len(self.roots) == 1:
            root, rest = next(iter(self.roots)), parts
        else:
            raise PathNotAllowed(f"'{_clip(text)}' is not under a known root",
                                 fix=f"start the path with one of: {', '.join(self.roots)}")
        try:
            base = self.roots[root].resolve(strict=True)
        except OSError:
            raise ToolFailed(f"root '{root}' is not available on this server",
                             fix="ask the operator to create it or fix WFX_FS_ROOTS") from None
        target = base.joinpath(*rest).resolve(strict=False)
        shown = str(PurePosixPath(root, *rest))
        if target != base and not target.is_relative_to(base):
            raise PathNotAllowed(f"'{shown}' leads out of root '{root}' (through a symbolic link)",
                                 fix="use a path whose links stay inside the root")
        if must_exist and not os.path.lexists(target):
            raise NotFound(f"'{shown}' does not exist", fix="list the folder to see what is there")
        return Target(root, base, target, shown)

    def _example(self) -> str:
        return f"{next(iter(self.roots), 'root')}/notes.txt"

    def shown(self, t: Target, p: Path) -> str:
        return str(PurePosixPath(t.root, p.relative_to(t.base).as_posix())) if p != t.base else t.root

    # -- operations ------------------------------------------------------------------------

    def list_directory(self, path: str, recursive: bool, show_hidden: bool) -> dict[str, Any]:
        if path.strip() in ("", ".", "/") and len(self.roots) > 1:
            return {"path": "", "entries": [{"name": n, "type": "directory"} for n in self.roots]}
        t = self.resolve(path)
        if not t.path.is_dir():
            raise InvalidArgument(f"'{t.shown}' is not a folder", fix="use read_file for a file")
        entries: list[dict[str, Any]] = []
        truncated = False
        for dirpath, dirs, files in os.walk(t.path, followlinks=False):
            here = Path(dirpath)
            dirs[:] = sorted(d for d in dirs if show_hidden or not d.startswith("."))
            for name in [*dirs, *sorted(files)]:
                if not show_hidden and name.startswith("."):
                    continue
                if len(entries) >= MAX_LIST:
                    truncated = True
                    break
                entries.append(_entry(here / name, (here / name).relative_to(t.path).as_posix()))
            if truncated or not recursive:
                break
        return {"path": t.shown, "entries": entries, "truncated": truncated}

    def read_file(self, path: str, offset: int, length: int) -> dict[str, Any]:
        t = self.resolve(path)
        if t.path.is_dir():
            raise InvalidArgument(f"'{t.shown}' is a folder", fix="use list_directory for a folder")
        try:
            fd = os.open(t.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise InvalidArgument(f"'{t.shown}' is not a regular file", fix="read regular files only")
                size = os.fstat(f.fileno()).st_size
                f.seek(offset)
                data = f.read(length + 1)
        except OSError as exc:
            raise _os_error(exc, t.shown) from None
        return _content(t.shown, data[:length], size, offset, more=len(data) > length)

    def write_file(self, path: str, content: str, append: bool, create_dirs: bool) -> dict[str, Any]:
        t = self.resolve(path, must_exist=False)
        if t.path == t.base:
            raise InvalidArgument("cannot write to a root itself", fix="name a file inside the root")
        if create_dirs:
            self._mkdirs(t, t.path.parent)
        data = content.encode("utf-8")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(t.path, flags, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise _os_error(exc, t.shown) from None
        return {"path": t.shown, "bytes_written": len(data), "appended": append}

    def _mkdirs(self, t: Target, folder: Path) -> None:
        missing = []
        p = folder
        while not p.exists() and p != t.base:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                pass
            except OSError as exc:
                raise _os_error(exc, self.shown(t, d)) from None
            if not d.resolve().is_relative_to(t.base):  # a link raced in
                raise PathNotAllowed(f"'{self.shown(t, d)}' leads out of root '{t.root}'")

    def search(self, path: str, pattern: str | None, text: str | None, max_results: int,
               max_file_bytes: int) -> dict[str, Any]:
        t = self.resolve(path or "")
        if not t.path.is_dir():
            raise InvalidArgument(f"'{t.shown}' is not a folder", fix="search a folder")
        matches: list[dict[str, Any]] = []
        scanned = 0
        for dirpath, dirs, files in os.walk(t.path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                p = Path(dirpath) / name
                rel = p.relative_to(t.path).as_posix()
                if p.is_symlink() or (pattern and not (fnmatch.fnmatch(name, pattern)
                                                       or fnmatch.fnmatch(rel, pattern))):
                    continue
                scanned += 1
                if scanned > MAX_SEARCH_FILES or len(matches) >= max_results:
                    return {"path": t.shown, "matches": matches, "truncated": True}
                if text is None:
                    matches.append({"path": self.shown(t, p)})
                    continue
                for line_no, line in _lines_with(p, text, max_file_bytes):
                    matches.append({"path": self.shown(t, p), "line": line_no, "text": line})
                    if len(matches) >= max_results:
                        break
        return {"path": t.shown, "matches": matches, "truncated": False}


def _entry(p: Path, name: str) -> dict[str, Any]:
    try:
        st = p.lstat()
    except OSError:
        return {"name": name, "type": "unknown"}
    kind = "symlink" if stat.S_ISLNK(st.st_mode) else "directory" if stat.S_ISDIR(st.st_mode) else "file"
    out: dict[str, Any] = {"name": name, "type": kind}
    if kind == "file":
        out["size"] = st.st_size
    return out


def _lines_with(p: Path, needle: str, max_bytes: int) -> list[tuple[int, str]]:
    try:
        with p.open("rb") as f:
            data = f.read(max_bytes)
    except OSError:
        return []
    if b"\x00" in data[:1024]:
        return []  # binary
    low = needle.lower()
    return [(i, line.strip()[:300]) for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1)
            if low in line.lower()]


def _content(shown: str, data: bytes, size: int, offset: int, more: bool) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"'{shown}' is not UTF-8 text", fix="read text files only") from None
    out: dict[str, Any] = {"path": shown, "content": text, "size_bytes": size, "offset": offset,
                           "truncated": more}
    if more:
        out["next_offset"] = offset + len(data)
    return out


def _os_error(exc: OSError, shown: str) -> Exception:
    """An OSError without the server path it carries."""
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"'{shown}' does not exist", fix="list the folder to see what is there")
    if exc.errno == getattr(os, "ELOOP", -1):
        return PathNotAllowed(f"'{shown}' is a symbolic link, which is not followed", fix="use the link's target")
    if isinstance(exc, IsADirectoryError):
        return InvalidArgument(f"'{shown}' is a folder", fix="name a file")
    if isinstance(exc, PermissionError):
        return PathNotAllowed(f"the server may not access '{shown}'", fix="ask the operator about its permissions")
    if exc.errno == getattr(os, "ENOSPC", -1) or exc.errno == getattr(os, "EFBIG", -1):
        return LimitExceeded(f"no room to write '{shown}'", fix="write less")
    return ToolFailed(f"cannot access '{shown}': {exc.strerror or type(exc).__name__}")


def _clip(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
