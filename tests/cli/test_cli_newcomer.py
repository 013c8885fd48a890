"""What a newcomer meets first with `wfx` (issue 20): a run of a file leaves names alone, a busy
port is one line, keys are local, and the help, the lists and the exit codes say what they mean."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wfx(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("WFX_URL", "WFX_API_KEY", "WFX_WORKFLOW_ROOTS")}
    full.update(WFX_HOME=str(tmp / "home"), COLUMNS="80", **env)
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=60)


def test_running_a_file_does_not_change_what_its_workflow_names_mean(tmp_path: Path) -> None:
    assert wfx(tmp_path, "register", "examples/fan_out.yaml").returncode == 0
    scratch = tmp_path / "scratch.yaml"
    scratch.write_text("workflows:\n  fan_out:\n    steps:\n      - {id: only, function: builtins.echo, "
                       "args: {value: scratch}}\n")
    for mode in ("sync", "async"):
        out = wfx(tmp_path, "run", str(scratch), "--mode", mode, "--json")
        assert out.returncode == 0, out.stderr
    listed = json.loads(wfx(tmp_path, "list", "--json").stdout)
    assert [(w["name"], w["version"]) for w in listed] == [("fan_out", 1)]
    # the name still runs the registered file, not the scratch one
    from workflow_executor.api import Executor

    with Executor.local(home=tmp_path / "home") as ex:
        assert ex.run("fan_out", "a, b").result == ["word 0: a", "word 1: b"]


def test_serve_on_a_busy_port_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    with closing(socket.socket()) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        out = wfx(tmp_path, "serve", "--port", str(port))
    assert out.returncode == 1
    [line] = out.stderr.strip().splitlines()
    assert "[port_in_use]" in line and f"port {port} is in use" in line


def test_keys_create_with_url_refuses_because_keys_are_local(tmp_path: Path) -> None:
    out = wfx(tmp_path, "--url", "http://127.0.0.1:9/", "keys", "create", "--scopes", "run")
    assert out.returncode == 2
    assert "keys are local" in out.stderr and out.stdout == ""
    assert not (tmp_path / "home" / "keys.json").exists()
