"""The `wfx` command as a user runs it: real processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import eventually

ROOT = Path(__file__).resolve().parents[2]


def wfx(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, WFX_HOME=str(tmp / "home"), **env)
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=60)


def test_run_prints_the_result_and_json_mode_gives_the_whole_execution(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", '"a, b"', "--json")
    assert out.returncode == 0, out.stderr
    view = json.loads(out.stdout)
    assert view["status"] == "completed"
    assert view["result"] == ["word 0: a", "word 1: b"]
    assert view["steps"][0]["id"] == "split"


def test_validate_exits_1_and_names_the_path_of_every_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflows:\n  w:\n    steps:\n      - {id: a, function: builtins.noop, output: {to: nowhere}}\n")
    out = wfx(tmp_path, "validate", str(bad), "examples/fan_out.yaml", "--json")
    assert out.returncode == 1
    results = {Path(r["file"]).name: r for r in json.loads(out.stdout)}
    assert results["fan_out.yaml"]["valid"] is True
    assert results["bad.yaml"]["errors"][0]["path"] == "workflows.w.steps[0].output.to"


def test_validate_rejects_malformed_yaml_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("workflows:\n  w:\n    steps: [\n")
    out = wfx(tmp_path, "validate", str(bad))
    assert out.returncode == 1
    assert "line" in out.stdout


def test_an_async_run_goes_on_after_the_command_returns_and_status_sees_it_finish(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", "examples/langswarm_classic.yaml", "--mode", "async", "--input", '"one two"',
              "--json")
    assert out.returncode == 0, out.stderr
    eid = json.loads(out.stdout)["execution_id"]

    def done() -> dict[str, object] | None:
        st = wfx(tmp_path, "status", eid, "--json")
        view: dict[str, object] = json.loads(st.stdout)
        return view if view["status"] == "completed" else None

    view = eventually(done, timeout=30, interval=0.2, what="async run to complete")
    assert view["result"] == {"words": ["one", "two"], "count": 2}


def test_a_failed_run_exits_1_and_rerun_from_a_step_reuses_the_ones_before(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    wf = tmp_path / "wf.yaml"
    wf.write_text(f"""
workflows:
  w:
    steps:
      - {{id: a, function: builtins.echo, args: {{value: 1}}}}
      - {{id: b, function: engine_fns.fail_if, args: {{flag: "{flag}"}}}}
""")
    env = {"WFX_FUNCTION_MODULES": "engine_fns", "PYTHONPATH": str(ROOT / "tests" / "engine")}
    out = wfx(tmp_path, "run", str(wf), "--json", **env)
    assert out.returncode == 1
    first = json.loads(out.stdout)
    assert first["error"]["step"] == "b"
    flag.unlink()
    again = wfx(tmp_path, "rerun", first["execution_id"], "--json", **env)
    assert again.returncode == 0, again.stderr
    view = json.loads(again.stdout)
    assert view["status"] == "completed" and view["rerun_of"] == first["execution_id"]


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_executions_lists_by_status(tmp_path: Path, status: str) -> None:
    wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", '"x"')
    wfx(tmp_path, "run", "examples/llm_summary.yaml", "--input", '"x"')
    out = wfx(tmp_path, "executions", "--status", status, "--json")
    rows = json.loads(out.stdout)
    assert len(rows) == 1 and rows[0]["status"] == status


def test_watch_follows_a_run_to_its_end(tmp_path: Path) -> None:
    wf = tmp_path / "slow.yaml"
    steps = "".join(f"      - {{id: s{i}, function: builtins.sleep, args: {{seconds: 0.2}}}}\n" for i in range(4))
    wf.write_text("workflows:\n  slow:\n    steps:\n" + steps)
    out = wfx(tmp_path, "run", str(wf), "--mode", "async", "--json")
    eid = json.loads(out.stdout)["execution_id"]
    watched = wfx(tmp_path, "watch", eid, "--interval", "0.05")
    assert watched.returncode == 0, watched.stderr
    assert f"{eid}  slow  completed  (4 of 4 steps done)" in watched.stdout
