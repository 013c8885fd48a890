"""``filesystem``: files under the operator's roots, and the sandbox around them (``..``,
absolute paths and symbolic links out of a root are refused; no server path is ever shown)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import Forbidden, InvalidArgument, NotFound, PathNotAllowed, WfxError
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

DOC = """
tools:
  - {id: files, type: mcpfilesystem}
  - {id: docs_only, type: filesystem, roots: [docs], read_only: true}
workflows: {w: {steps: [{id: s, tool: files, params: {method: list_directory}}]}}
"""


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path, Path]:
    data, docs, outside = tmp_path / "srv" / "data", tmp_path / "srv" / "docs", tmp_path / "outside"
    for d in (data / "sub", docs, outside):
        d.mkdir(parents=True)
    (data / "a.txt").write_text("alpha\nbeta gamma\n")
    (data / "sub" / "b.py").write_text("def beta():\n    return 'Beta'\n")
    (docs / "readme.md").write_text("# Docs\n")
    (outside / "secret.txt").write_text("top secret")
    os.symlink(outside / "secret.txt", data / "link_out.txt")
    os.symlink(outside, data / "dir_out")
    os.symlink(data / "a.txt", data / "link_in.txt")
    return data, docs, outside


Call = Callable[..., Any]


@pytest.fixture
def call(roots: tuple[Path, Path, Path]) -> Call:
    data, docs, _ = roots
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings(fs_roots=(("data", data), ("docs", docs)))))
    doc = load_text(DOC)

    def run(op: str, tool: str = "files", **args: Any) -> Any:
        return reg.run_tool(tool, {"method": op, **args}, doc, ToolCall("e", "s"))

    return run


def _no_server_path(err: WfxError, *paths: Path) -> None:
    text = json.dumps(err.to_dict())
    for p in paths:
        assert str(p) not in text, text
    assert err.fix


def test_list_read_write_and_search_under_the_roots(call: Call) -> None:
    assert [e["name"] for e in call("list_directory")["entries"]] == ["data", "docs"]
    listing = call("list_directory", path="data")
    assert {"name": "a.txt", "type": "file", "size": 17} in listing["entries"]
    assert {"name": "sub", "type": "directory"} in listing["entries"]
    assert "sub/b.py" in [e["name"] for e in call("list_directory", path="data", recursive=True)["entries"]]
    assert call("read_file", path="data/a.txt")["content"] == "alpha\nbeta gamma\n"
    part = call("read_file", path="data/a.txt", offset=6, length=4)
    assert (part["content"], part["truncated"], part["next_offset"]) == ("beta", True, 10)
    assert call("write_file", path="data/new/c.txt", content="hello") == {
        "path": "data/new/c.txt", "bytes_written": 5, "appended": False}
    call("write_file", path="data/new/c.txt", content=" world", append=True)
    assert call("read_file", path="data/new/c.txt")["content"] == "hello world"
    found = call("search_files", path="data", text="beta")["matches"]
    assert {"path": "data/a.txt", "line": 2, "text": "beta gamma"} in found
    assert {"path": "data/sub/b.py", "line": 1, "text": "def beta():"} in found
    assert all("link_out" not in m["path"] for m in found)  # links are not searched
    assert call("search_files", path="data", pattern="*.py")["matches"] == [{"path": "data/sub/b.py"}]


@pytest.mark.parametrize("path", ["data/../outside/secret.txt", "../outside/secret.txt",
                                  "data/sub/../../docs/readme.md", "data\\..\\..\\outside\\secret.txt"])
def test_traversal_is_refused(call: Call, roots: tuple[Path, Path, Path], path: str) -> None:
    with pytest.raises(PathNotAllowed) as err:
        call("read_file", path=path)
    assert err.value.code == "path_not_allowed"
    _no_server_path(err.value, *roots)


@pytest.mark.parametrize("op", ["read_file", "write_file", "list_directory"])
def test_absolute_paths_are_refused(call: Call, roots: tuple[Path, Path, Path], op: str) -> None:
    for path in [str(roots[2] / "secret.txt"), "/etc/passwd", "~/x", "C:\\windows"]:
        args = {"path": path, **({"content": "x"} if op == "write_file" else {})}
        with pytest.raises(PathNotAllowed) as err:
            call(op, **args)
        assert err.value.code == "path_not_allowed"
        assert "absolute" in err.value.message


def test_symlink_escapes_are_refused_and_show_no_server_path(call: Call, roots: tuple[Path, Path, Path]) -> None:
    data, _, outside = roots
    for op, args in [("read_file", {"path": "data/link_out.txt"}),
                     ("read_file", {"path": "data/dir_out/secret.txt"}),
                     ("list_directory", {"path": "data/dir_out"}),
                     ("search_files", {"path": "data/dir_out", "text": "secret"}),
                     ("write_file", {"path": "data/dir_out/planted.txt", "content": "x"}),
                     ("write_file", {"path": "data/link_out.txt", "content": "overwritten"})]:
        with pytest.raises(PathNotAllowed) as err:
            call(op, **args)
        assert err.value.code == "path_not_allowed", (op, args)
        _no_server_path(err.value, data, outside)
    assert (outside / "secret.txt").read_text() == "top secret"
    assert not (outside / "planted.txt").exists()
    assert call("read_file", path="data/link_in.txt")["content"].startswith("alpha")  # a link inside is fine


def test_errors_name_only_root_relative_paths(call: Call, roots: tuple[Path, Path, Path]) -> None:
    with pytest.raises(NotFound) as err:
        call("read_file", path="data/missing.txt")
    assert "'data/missing.txt'" in err.value.message
    _no_server_path(err.value, *roots)
    with pytest.raises(PathNotAllowed) as err2:
        call("read_file", path="elsewhere/x.txt")
    assert "data, docs" in (err2.value.fix or "")
    with pytest.raises(InvalidArgument):
        call("read_file", path="data/sub")


def test_a_tool_can_narrow_the_roots_and_be_read_only(call: Call) -> None:
    assert call("read_file", tool="docs_only", path="docs/readme.md")["content"] == "# Docs\n"
    assert call("read_file", tool="docs_only", path="readme.md")["content"] == "# Docs\n"  # the only root
    with pytest.raises(NotFound):  # with one root, 'data/a.txt' means docs/data/a.txt
        call("read_file", tool="docs_only", path="data/a.txt")
    with pytest.raises(NotFound):
        call("write_file", tool="docs_only", path="docs/x.md", content="x")


def test_no_roots_configured_is_a_clear_refusal() -> None:
    reg = ToolRegistry.from_env(ToolEnv())
    with pytest.raises(PathNotAllowed) as err:
        reg.run_tool("files", {"method": "read_file", "path": "a.txt"}, load_text(DOC), ToolCall("e", "s"))
    assert "WFX_FS_ROOTS" in (err.value.fix or "")


def test_a_filesystem_tool_step_runs_in_a_workflow(tmp_path: Path, roots: tuple[Path, Path, Path]) -> None:
    data, docs, _ = roots
    wf = """
tools: [{id: files, type: filesystem}]
workflows:
  w:
    steps:
      - {id: save, tool: files, params: {method: write_file, path: "data/out/${user_input}.txt", content: "hi"}}
      - {id: look, tool: files, params: {method: read_file, params: {path: "${save.output.path}"}}}
      - {id: bad, tool: files, params: {method: read_file, path: "../outside/secret.txt"}}
"""
    with executor(tmp_path, {"WFX_FS_ROOTS": f"data={data},docs={docs}"}) as wfx:
        wfx.register(wf)
        done = wfx.run("w", "note")
    assert done.status == ExecutionStatus.FAILED
    assert done.steps["look"].output["content"] == "hi"
    assert done.error is not None and done.error.code == "path_not_allowed" and done.error.step == "bad"
    assert (data / "out" / "note.txt").read_text() == "hi"


def test_a_tool_naming_unknown_roots_is_a_validation_error(tmp_path: Path) -> None:
    from workflow_executor.errors import SpecError

    wf = """
tools: [{id: files, type: filesystem, roots: [nowhere]}]
workflows: {w: {steps: [{id: s, tool: files, params: {method: list_directory}}]}}
"""
    with executor(tmp_path, {"WFX_FS_ROOTS": f"data={tmp_path}"}) as wfx, pytest.raises(SpecError) as err:
        wfx.register(wf)
    assert err.value.issues[0].path == "tools.files.type"
    assert "nowhere" in err.value.issues[0].message
    _ = Forbidden
