"""``codebase_indexer`` (LangSwarm: ``mcpcodebase_indexer``): an overview of a code tree, and
search for files, text and symbols (functions, classes, methods) under the operator's roots.

The tree is read fresh on each call, within limits (files, bytes per file); the same sandbox as
``filesystem`` applies (paths are ``<root>/...``; no ``..``, absolute paths or links out).
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from ...errors import InvalidArgument
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv, tool_setting
from .filesystem import check_roots
from .fs_local import LocalRoots, Target

MAX_FILES = 5000
MAX_FILE_BYTES = 1_000_000
SKIP_DIRS = {"node_modules", "__pycache__", ".git", ".venv", "venv", "dist", "build", ".tox", ".mypy_cache"}
LANGUAGES = {".py": "python", ".js": "javascript", ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript",
             ".go": "go", ".java": "java", ".rb": "ruby", ".rs": "rust", ".c": "c", ".h": "c", ".cpp": "cpp",
             ".cs": "csharp", ".php": "php", ".kt": "kotlin", ".swift": "swift", ".sh": "shell", ".sql": "sql",
             ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".md": "markdown", ".tf": "terraform"}
# def/class-like declarations of languages without a parser here: (kind, regex with a name group)
_DECLS = [
    ("function", re.compile(r"^\s*(?:export\s+)?(?:async\s+)?function\s+(?P<name>[A-Za-z_$][\w$]*)")),
    ("class", re.compile(r"^\s*(?:export\s+)?(?:public\s+|abstract\s+|final\s+)*class\s+(?P<name>[A-Za-z_]\w*)")),
    ("function", re.compile(r"^\s*func\s+(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_]\w*)")),
    ("function", re.compile(r"^\s*(?:pub\s+)?fn\s+(?P<name>[A-Za-z_]\w*)")),
    ("function", re.compile(r"^\s*def\s+(?P<name>[A-Za-z_]\w*[?!]?)")),
    ("type", re.compile(r"^\s*(?:export\s+)?(?:interface|struct|enum|trait|type)\s+(?P<name>[A-Za-z_]\w*)")),
    ("function", re.compile(r"^\s*(?:export\s+)?const\s+(?P<name>[A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?\(")),
]


class OverviewArgs(ToolArgs):
    path: str = Field("", description="folder to describe: '<root>/<folder>' (empty: the tool's root)")


class FilesArgs(ToolArgs):
    pattern: str = Field(..., description="file name or path glob, e.g. '*.py' or 'src/**/test_*.py'")
    path: str = Field("", description="folder to search below")
    max_results: int = Field(100, ge=1, le=1000)


class CodeArgs(ToolArgs):
    query: str = Field(..., min_length=1, description="text to find (case-insensitive), or a regex with regex: true")
    regex: bool = False
    file_pattern: str | None = Field(None, description="only files matching this glob, e.g. '*.py'")
    path: str = Field("", description="folder to search below")
    max_results: int = Field(50, ge=1, le=500)


class SymbolArgs(ToolArgs):
    name: str = Field(..., min_length=1, description="symbol name or glob (case-insensitive), e.g. 'parse*'")
    kind: str | None = Field(None, description="function, class, method or type")
    path: str = Field("", description="folder to search below")
    max_results: int = Field(50, ge=1, le=500)


class SemanticArgs(ToolArgs):
    query: str = Field(..., min_length=1, description="what you look for, in words")
    path: str = Field("", description="folder to search below")
    max_results: int = Field(10, ge=1, le=100)


class Tree:
    """The code files under one checked folder."""

    def __init__(self, roots: LocalRoots, path: str) -> None:
        self.roots = roots
        self.top: Target = roots.resolve(path)

    def files(self) -> Iterator[tuple[Path, str]]:
        """(file, shown path), skipping links, hidden and vendor folders; at most MAX_FILES."""
        n = 0
        for dirpath, dirs, files in os.walk(self.top.path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            for name in sorted(files):
                p = Path(dirpath) / name
                if name.startswith(".") or p.is_symlink():
                    continue
                n += 1
                if n > MAX_FILES:
                    return
                yield p, self.roots.shown(self.top, p)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.top.path).as_posix()


def _text(p: Path) -> str | None:
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            return None
        data = p.read_bytes()
    except OSError:
        return None
    return None if b"\x00" in data[:1024] else data.decode("utf-8", "replace")


def symbols(p: Path, text: str) -> list[dict[str, Any]]:
    """Declarations in one file: Python through its parser, other languages by pattern."""
    out: list[dict[str, Any]] = []
    if p.suffix == ".py":
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return out
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                out.append({"name": node.name, "kind": "class", "line": node.lineno})
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        out.append({"name": f"{node.name}.{item.name}", "kind": "method", "line": item.lineno})
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.col_offset == 0:
                out.append({"name": node.name, "kind": "function", "line": node.lineno})
        return sorted(out, key=lambda s: s["line"])
    if LANGUAGES.get(p.suffix) in (None, "yaml", "json", "markdown", "sql", "terraform"):
        return out
    for i, line in enumerate(text.splitlines(), 1):
        for kind, rx in _DECLS:
            m = rx.match(line)
            if m:
                out.append({"name": m.group("name"), "kind": kind, "line": i})
                break
    return out


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    wanted = tool_setting(tool, "roots")
    roots = env.settings.fs_roots
    if isinstance(wanted, list):
        roots = tuple((n, p) for n, p in roots if n in wanted)
    local = LocalRoots(roots)
    # LangSwarm's root_path ("./src") is read inside the roots like any other path, never as a server path
    default = str(tool_setting(tool, "root", "") or tool_setting(tool, "root_path", "") or "")

    def tree(path: str) -> Tree:
        return Tree(local, path or default)

    def overview(a: OverviewArgs, ctx: ToolCall) -> Any:
        t = tree(a.path)
        langs: Counter[str] = Counter()
        dirs: Counter[str] = Counter()
        lines = files = 0
        entry_points = []
        for p, shown in t.files():
            files += 1
            langs[LANGUAGES.get(p.suffix, p.suffix or "other")] += 1
            rel = t.rel(p)
            dirs[rel.split("/")[0] if "/" in rel else "."] += 1
            text = _text(p)
            if text is not None:
                lines += text.count("\n")
                if p.name in ("main.py", "__main__.py", "index.js", "main.go", "app.py", "cli.py") or (
                        p.suffix == ".py" and "if __name__ == \"__main__\"" in text):
                    entry_points.append(shown)
        return {"path": t.top.shown, "files": files, "lines": lines, "languages": dict(langs.most_common()),
                "top_folders": dict(dirs.most_common(20)), "entry_points": entry_points[:20],
                "truncated": files >= MAX_FILES}

    def search_files(a: FilesArgs, ctx: ToolCall) -> Any:
        t = tree(a.path)
        hits = [shown for p, shown in t.files()
                if fnmatch.fnmatch(p.name, a.pattern) or fnmatch.fnmatch(t.rel(p), a.pattern)]
        return {"path": t.top.shown, "files": hits[:a.max_results], "truncated": len(hits) > a.max_results}

    def search_code(a: CodeArgs, ctx: ToolCall) -> Any:
        t = tree(a.path)
        rx = _regex(a.query, a.regex)
        matches: list[dict[str, Any]] = []
        for p, shown in t.files():
            if a.file_pattern and not (fnmatch.fnmatch(p.name, a.file_pattern)
                                       or fnmatch.fnmatch(t.rel(p), a.file_pattern)):
                continue
            text = _text(p)
            for i, line in enumerate((text or "").splitlines(), 1):
                if rx.search(line[:2000]):  # long lines are cut: a model's regex must stay cheap
                    matches.append({"path": shown, "line": i, "text": line.strip()[:300]})
                    if len(matches) >= a.max_results:
                        return {"path": t.top.shown, "matches": matches, "truncated": True}
        return {"path": t.top.shown, "matches": matches, "truncated": False}

    def find_symbols(a: SymbolArgs, ctx: ToolCall) -> Any:
        t = tree(a.path)
        glob = a.name.lower() if any(c in a.name for c in "*?[") else f"*{a.name.lower()}*"
        found: list[dict[str, Any]] = []
        for p, shown in t.files():
            text = _text(p)
            if text is None or p.suffix not in LANGUAGES:
                continue
            for s in symbols(p, text):
                name = s["name"].lower()
                if (a.kind is None or s["kind"] == a.kind) and (
                        fnmatch.fnmatch(name, glob) or fnmatch.fnmatch(name.rpartition(".")[2], glob)):
                    found.append({"path": shown, **s})
                    if len(found) >= a.max_results:
                        return {"path": t.top.shown, "symbols": found, "truncated": True}
        return {"path": t.top.shown, "symbols": found, "truncated": False}

    def semantic_search(a: SemanticArgs, ctx: ToolCall) -> Any:
        """Files ranked by how often the query's words occur in their names, symbols and text."""
        t = tree(a.path)
        words = {w for w in re.findall(r"[a-z0-9]+", a.query.lower()) if len(w) > 2} or {a.query.lower()}
        ranked = []
        for p, shown in t.files():
            text = _text(p)
            if text is None:
                continue
            low = text.lower()
            names = " ".join(s["name"].lower() for s in symbols(p, text)) if p.suffix in LANGUAGES else ""
            score = sum(low.count(w) + 5 * names.count(w) + 10 * t.rel(p).lower().count(w) for w in words)
            if score:
                ranked.append((score, shown, sorted(w for w in words if w in low or w in names)))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return {"path": t.top.shown, "results": [{"path": s, "score": sc, "matched": m}
                                                 for sc, s, m in ranked[:a.max_results]]}

    return [
        Operation("get_codebase_overview", "Files, lines, languages, top folders and entry points of a code tree.",
                  OverviewArgs, overview),
        Operation("search_files", "Find code files by name or path glob.", FilesArgs, search_files),
        Operation("search_code", "Find lines of code containing a text (or matching a regex).", CodeArgs,
                  search_code),
        Operation("find_symbols", "Find functions, classes and methods by name.", SymbolArgs, find_symbols),
        Operation("semantic_search", "Rank files by how well they match a description in words.", SemanticArgs,
                  semantic_search),
    ]


def _regex(query: str, is_regex: bool) -> re.Pattern[str]:
    if not is_regex:
        return re.compile(re.escape(query), re.IGNORECASE)
    if len(query) > 200:
        raise InvalidArgument("the regex is longer than 200 characters", fix="use a shorter pattern")
    try:
        return re.compile(query, re.IGNORECASE)
    except re.error as exc:
        raise InvalidArgument(f"the regex does not compile: {exc}",
                              fix="fix the pattern, or pass regex: false") from None


KIND = OperationsKind("codebase_indexer", "search a code tree under the operator's roots: files, text, symbols",
                      _operations, aliases=("mcpcodebase_indexer", "codebase", "code_indexer"),
                      check=lambda tool, env: check_roots(tool, env, s3=False))
