"""``filesystem`` (LangSwarm: ``mcpfilesystem``): read, list, write and search files under the
operator's roots (``WFX_FS_ROOTS``) and ``s3://`` objects in allowed buckets (``WFX_S3_ALLOW``).

A tool may narrow the roots (``roots: [name, ...]``) and be ``read_only: true``; it can never
widen what the operator allows.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...errors import Forbidden
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv, tool_setting
from .fs_local import LocalRoots
from .fs_s3 import S3Objects


class ListArgs(ToolArgs):
    path: str = Field("", description="folder: '<root>/<sub/folder>' or 's3://bucket/prefix'; empty lists the roots")
    recursive: bool = Field(False, description="include everything below, not just the folder's own entries")
    show_hidden: bool = False


class ReadArgs(ToolArgs):
    path: str = Field(..., description="file: '<root>/<file>' or 's3://bucket/key'")
    offset: int = Field(0, ge=0, description="byte to start at (for long files: the next_offset of a previous read)")
    length: int | None = Field(None, ge=1, description="bytes to read at most (default: as much as a result may hold)")


class WriteArgs(ToolArgs):
    path: str = Field(..., description="file: '<root>/<file>' or 's3://bucket/key'")
    content: str = Field(..., description="UTF-8 text to write")
    append: bool = Field(False, description="add to the end instead of replacing the file")
    create_dirs: bool = Field(True, description="create missing folders")


class SearchArgs(ToolArgs):
    path: str = Field("", description="folder to search below: '<root>/<folder>' or 's3://bucket/prefix'")
    pattern: str | None = Field(None, description="file name glob such as '*.py' or 'src/**/*.md'")
    text: str | None = Field(None, description="text to find in the files (case-insensitive); lines are returned")
    max_results: int = Field(50, ge=1, le=500)


def _roots(tool: Tool, env: ToolEnv) -> LocalRoots:
    wanted = tool_setting(tool, "roots")
    roots = env.settings.fs_roots
    if isinstance(wanted, list):
        roots = tuple((n, p) for n, p in roots if n in wanted)
    return LocalRoots(roots)


def check_roots(tool: Tool, env: ToolEnv, *, s3: bool) -> str | None:
    """Why ``tool`` (filesystem, or codebase_indexer when not ``s3``) can reach nothing here,
    or names a root the operator has not configured, else None (validation: tool_checker)."""
    if not env.settings.fs_roots and not (s3 and env.settings.s3_allow):
        return (f"tool '{tool.id}' ({tool.type}) can reach no file: the operator allows folders with "
                "WFX_FS_ROOTS=name=/path" + (" (or s3:// buckets with WFX_S3_ALLOW)" if s3 else ""))
    wanted = tool_setting(tool, "roots")
    if wanted is None:
        return None
    known = [n for n, _ in env.settings.fs_roots]
    if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
        return f"tool '{tool.id}': roots must be a list of root names (known: {', '.join(known) or 'none'})"
    unknown = [w for w in wanted if w not in known]
    if unknown:
        return (f"tool '{tool.id}' names roots the operator has not configured: {', '.join(unknown)} "
                f"(known: {', '.join(known) or 'none'}; the operator sets WFX_FS_ROOTS)")
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    local = _roots(tool, env)
    s3 = S3Objects(env.settings.s3_allow, env.settings.s3_endpoint_url, env.settings.timeout_s)
    read_only = bool(tool_setting(tool, "read_only", False))
    # a result holds the content plus a little JSON around it
    max_read = max(env.settings.max_result_bytes // 2 - 1024, 1024)

    def is_s3(path: str) -> bool:
        return path.strip().lower().startswith("s3://")

    def list_directory(a: ListArgs, ctx: ToolCall) -> Any:
        if is_s3(a.path):
            return s3.list_directory(a.path, a.recursive)
        return local.list_directory(a.path, a.recursive, a.show_hidden)

    def read_file(a: ReadArgs, ctx: ToolCall) -> Any:
        length = min(a.length or max_read, max_read)
        if is_s3(a.path):
            return s3.read_file(a.path, a.offset, length)
        return local.read_file(a.path, a.offset, length)

    def write_file(a: WriteArgs, ctx: ToolCall) -> Any:
        if read_only:
            raise Forbidden(f"tool '{tool.id}' is read-only", fix="use a tool without read_only: true to write")
        if is_s3(a.path):
            return s3.write_file(a.path, a.content, a.append)
        return local.write_file(a.path, a.content, a.append, a.create_dirs)

    def search_files(a: SearchArgs, ctx: ToolCall) -> Any:
        if is_s3(a.path):
            return s3.search(a.path, a.pattern, a.text, a.max_results, max_read)
        return local.search(a.path, a.pattern, a.text, a.max_results, max_read)

    where = ", ".join(local.names()) or "none configured"
    ops = [
        Operation("list_directory", f"List a folder's files and subfolders (roots: {where}; or s3://bucket/prefix).",
                  ListArgs, list_directory),
        Operation("read_file", "Read a UTF-8 text file (long files in parts, with offset).", ReadArgs, read_file),
        Operation("search_files", "Find files by name pattern and/or lines containing a text.", SearchArgs,
                  search_files),
    ]
    if not read_only:
        ops.insert(2, Operation("write_file", "Write (or append) UTF-8 text to a file.", WriteArgs, write_file))
    return ops


KIND = OperationsKind("filesystem", "files under the operator's roots (WFX_FS_ROOTS) and allowed s3:// objects",
                      _operations, aliases=("mcpfilesystem", "fs", "file_system"),
                      check=lambda tool, env: check_roots(tool, env, s3=True))
