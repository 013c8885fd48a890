"""Validate = run for the tools that stay closed until the operator opens them: a message queue
tool with no topic or subscription allowed, and a filesystem or codebase_indexer tool with no
root, fail ``wfx validate`` naming the setting when an agent or step uses them (declared or
discovered), are a warning when nothing uses them, and validate once the setting is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.errors import SpecError

# tool type -> (a step that uses it, the setting that opens it, that setting's value)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "mcpmessage_queue_publisher": ({"method": "list_channels"}, "WFX_MQ_TOPICS", "orders"),
    "mcpmessage_queue_consumer": ({"method": "list_consumers"}, "WFX_MQ_SUBSCRIPTIONS", "orders"),
    "filesystem": ({"method": "list_directory", "path": "files"}, "WFX_FS_ROOTS", "files={root}"),
    "codebase_indexer": ({"method": "get_codebase_overview", "path": "files"}, "WFX_FS_ROOTS", "files={root}"),
}


def _step_doc(kind: str) -> dict[str, Any]:
    params = CASES[kind][0]
    return {"tools": [{"id": "t", "type": kind}],
            "workflows": {"w": {"steps": [{"id": "s", "tool": "t", "params": params}]}}}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_closed_tool_a_step_uses_fails_validation_naming_the_setting_that_opens_it(
        tmp_path: Path, kind: str) -> None:
    setting = CASES[kind][1]
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(_step_doc(kind))
    [issue] = err.value.issues
    assert (err.value.code, issue.path, issue.severity) == ("invalid_workflow", "tools.t.type", "error")
    assert setting in issue.message


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_same_tool_validates_and_its_step_runs_once_the_operator_opens_it(tmp_path: Path, kind: str) -> None:
    _, setting, value = CASES[kind]
    (tmp_path / "files").mkdir()
    with executor(tmp_path, {setting: value.format(root=tmp_path / "files")}, memory=False) as wfx:
        _, report = wfx.check(_step_doc(kind))
        assert report.ok and report.warnings == []
        done = wfx.run(workflow=_step_doc(kind))
        assert done.status.value == "completed", done.error


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_closed_tool_nothing_uses_is_only_a_warning(tmp_path: Path, kind: str) -> None:
    doc = {"tools": [{"id": "t", "type": kind}],
           "workflows": {"w": {"steps": [{"id": "s", "function": "builtins.echo", "args": {"value": 1}}]}}}
    with executor(tmp_path) as wfx:
        _, report = wfx.check(doc)
    assert report.ok
    assert [(w.path, w.severity) for w in report.warnings] == [("tools.t.type", "warning")]
    assert CASES[kind][1] in report.warnings[0].message


@pytest.mark.parametrize("name", ["filesystem", "codebase_indexer", "message_queue_publisher"])
def test_an_agent_naming_a_closed_built_in_it_does_not_declare_fails_validation(tmp_path: Path, name: str) -> None:
    doc = {"agents": [{"id": "a", "model": "m", "tools": [name]}],
           "workflows": {"w": {"steps": [{"id": "s", "agent": "a"}]}}}
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(doc)
    [issue] = err.value.issues
    assert (issue.path, issue.severity) == ("agents.a.tools[0]", "error") and "cannot run" in issue.message


def test_an_s3_allow_list_alone_opens_the_filesystem_tool_but_not_the_codebase_indexer(tmp_path: Path) -> None:
    with executor(tmp_path, {"WFX_S3_ALLOW": "bucket"}) as wfx:
        _, report = wfx.check(_step_doc("filesystem"))
        assert report.ok
        with pytest.raises(SpecError) as err:
            wfx.check(_step_doc("codebase_indexer"))
    assert "WFX_FS_ROOTS" in err.value.issues[0].message
