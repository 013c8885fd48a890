"""``wfx watch``: the same step tree as the web view, in the terminal, followed to the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def wfx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WFX_HOME=str(home), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_watch_shows_branches_loop_children_and_the_failure(tmp_path: Path) -> None:
    run = wfx(tmp_path, "run", str(HERE / "workflows" / "showcase.yaml"), "--input", '"a,b"', "--json")
    eid = json.loads(run.stdout)["execution_id"]
    out = wfx(tmp_path, "watch", eid)
    assert out.returncode == 1, out.stderr  # the run failed
    lines = out.stdout.splitlines()
    assert lines[0].startswith("✗ showcase  failed  6/7 steps")
    for step in ("split", "count", "upper", "pause", "join", "each", "check"):
        assert any(f"── ✓ {step} " in ln or f"── ✗ {step} " in ln for ln in lines), step
    assert any("each.0" in ln and "shout" in ln for ln in lines)
    assert sum("── ✓ say" in ln for ln in lines) == 2  # one child per iteration, its step nested
    assert any("✗ check" in ln and "2 attempts" in ln for ln in lines)
    assert "<script>document.title" in out.stdout  # printed as text


def test_watch_follows_a_running_execution_to_its_end(tmp_path: Path) -> None:
    run = wfx(tmp_path, "run", str(HERE / "workflows" / "slow.yaml"), "--input", '{"seconds": 0.05}',
              "--mode", "async", "--json")
    eid = json.loads(run.stdout)["execution_id"]
    out = wfx(tmp_path, "watch", eid)
    assert out.returncode == 0, out.stderr
    assert "✓ slow  completed  8/8 steps" in out.stdout
    assert "── ✓ done" in out.stdout
