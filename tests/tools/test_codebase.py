"""``codebase_indexer``: overview, file, text and symbol search under a root, inside the same
sandbox as ``filesystem``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import InvalidArgument, PathNotAllowed
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

PY = '''"""Orders."""


class OrderParser:
    def parse_line(self, line):
        return line.split(",")


def total_orders(rows):
    return sum(int(r[1]) for r in rows)


if __name__ == "__main__":
    print(total_orders([]))
'''
JS = "export function renderDashboard(data) {\n  return data;\n}\nclass Widget {}\n"
GO = "package main\n\nfunc ParseOrders(s string) int { return 0 }\n"


@pytest.fixture
def code(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "web").mkdir()
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "src" / "orders.py").write_text(PY)
    (root / "web" / "dash.js").write_text(JS)
    (root / "src" / "orders.go").write_text(GO)
    (root / "node_modules" / "x" / "index.js").write_text("function parseOrders() {}\n")
    (tmp_path / "secret.py").write_text("def parse_secret(): pass\n")
    os.symlink(tmp_path / "secret.py", root / "src" / "linked.py")
    return root


def _call(code: Path, op: str, **args: Any) -> Any:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings(fs_roots=(("repo", code),))))
    doc = load_text("""
tools: [{id: code, type: mcpcodebase_indexer}]
workflows: {w: {steps: [{id: s, tool: code, params: {method: get_codebase_overview}}]}}
""")
    return reg.run_tool("code", {"method": op, **args}, doc, ToolCall("e", "s"))


def test_the_overview_counts_files_languages_and_entry_points(code: Path) -> None:
    out = _call(code, "get_codebase_overview")
    assert out["files"] == 3  # node_modules and the link are skipped
    assert out["languages"] == {"python": 1, "javascript": 1, "go": 1}
    assert out["entry_points"] == ["repo/src/orders.py"]
    assert out["path"] == "repo"


def test_files_text_and_symbols_are_found(code: Path) -> None:
    assert _call(code, "search_files", pattern="*.py")["files"] == ["repo/src/orders.py"]
    hits = _call(code, "search_code", query="split(")["matches"]
    assert hits == [{"path": "repo/src/orders.py", "line": 6, "text": 'return line.split(",")'}]
    assert _call(code, "search_code", query=r"def \w+_orders", regex=True)["matches"][0]["line"] == 9
    syms = _call(code, "find_symbols", name="parse*")["symbols"]
    assert {(s["path"], s["name"], s["kind"]) for s in syms} == {
        ("repo/src/orders.go", "ParseOrders", "function"), ("repo/src/orders.py", "OrderParser.parse_line", "method")}
    classes = _call(code, "find_symbols", name="*", kind="class")["symbols"]
    assert {s["name"] for s in classes} == {"OrderParser", "Widget"}
    ranked = _call(code, "semantic_search", query="parse the orders")["results"]
    assert ranked[0]["path"] in ("repo/src/orders.py", "repo/src/orders.go")
    assert all("secret" not in r["path"] for r in ranked)


def test_the_sandbox_holds_for_the_indexer(code: Path) -> None:
    for path in ["../", "/etc", "repo/../.."]:
        with pytest.raises(PathNotAllowed):
            _call(code, "search_code", query="x", path=path)
    with pytest.raises(InvalidArgument):
        _call(code, "search_code", query="(", regex=True)


def test_a_codebase_step_runs_in_a_workflow(code: Path, tmp_path: Path) -> None:
    wf = """
tools: [{id: code, type: codebase_indexer, root: repo}]
workflows:
  w:
    steps:
      - {id: find, tool: code, params: {method: find_symbols, name: "${user_input}"}, output: {to: user}}
"""
    with executor(tmp_path, {"WFX_FS_ROOTS": f"repo={code},other={tmp_path}"}) as wfx:
        wfx.register(wf)
        done = wfx.run("w", "total")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result["symbols"] == [{"path": "repo/src/orders.py", "name": "total_orders", "kind": "function",
                                       "line": 9}]
