"""The CLI never does the wrong thing quietly: unknown workflow names, broken --input JSON,
closed pipes, Ctrl-C, and cancel all end with a clear word (issue 10, point 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import eventually

ROOT = Path(__file__).resolve().parents[2]
TWO = "workflows:\n  one:\n    steps:\n      - {id: a, function: builtins.echo, args: {value: one}}\n" \
      "  two:\n    steps:\n      - {id: b, function: builtins.echo, args: {value: two}}\n"


def _env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, WFX_HOME=str(tmp / "home"))


def wfx(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=_env(tmp),
                          capture_output=True, text=True, timeout=60)


def test_an_unknown_workflow_name_is_an_error_that_lists_the_names(tmp_path: Path) -> None:
    two = tmp_path / "two.yaml"
    two.write_text(TWO)

    out = wfx(tmp_path, "run", str(two), "--workflow", "nope")
    ran = wfx(tmp_path, "executions", "--json").stdout
    picked = wfx(tmp_path, "run", str(two), "--workflow", "two", "--json")

    assert out.returncode == 2
    assert "nope" in out.stderr and "one, two" in out.stderr
    assert json.loads(ran) == []  # nothing ran
    assert json.loads(picked.stdout)["result"] == "two"


def test_invalid_input_json_is_an_error_and_plain_text_needs_input_text(tmp_path: Path) -> None:
    bad = wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", "alpha, beta")
    text = wfx(tmp_path, "run", "examples/fan_out.yaml", "--input-text", "alpha, beta", "--json")

    assert bad.returncode == 2
    assert "--input is not valid JSON" in bad.stderr and "--input-text" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert text.returncode == 0, text.stderr
    assert json.loads(text.stdout)["result"] == ["word 0: alpha", "word 1: beta"]


def test_a_closed_pipe_ends_quietly_without_a_traceback(tmp_path: Path) -> None:
    wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", '"x"')
    proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "executions"], cwd=ROOT,
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command writes a line (like `| head -0`)

    err = proc.stderr.read().decode()
    proc.stderr.close()

    assert proc.wait(60) == 141
    assert err == ""


def _queued_forever(tmp: Path) -> str:
    """An async execution that is stored but never dispatched: it stays queued."""
    from workflow_executor.api import Executor

    with Executor.local(home=tmp / "home") as ex:
        return ex.submit(workflow=Path(ROOT / "examples" / "fan_out.yaml"), input="x", mode="async",
                         dispatch=False).id


def _holds_the_database(pid: int) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd).endswith("wfx.db") for fd in fds.iterdir())
    except OSError:
        return False


def test_ctrl_c_while_watching_exits_130_without_a_traceback(tmp_path: Path) -> None:
    eid = _queued_forever(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "watch", eid, "--interval", "0.05"],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        eventually(lambda: _holds_the_database(proc.pid), timeout=30, interval=0.02, what="watch to be polling")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    assert proc.returncode == 130
    assert "Traceback" not in err.decode() and "interrupted" in err.decode()


def test_cancel_says_what_happened_to_a_queued_a_running_and_a_finished_run(tmp_path: Path) -> None:
    queued = _queued_forever(tmp_path)
    slow = tmp_path / "slow.yaml"
    slow.write_text("workflows:\n  slow:\n    steps:\n" + "".join(
        f"      - {{id: s{i}, function: builtins.sleep, args: {{seconds: 0.3}}}}\n" for i in range(200)))
    running = json.loads(wfx(tmp_path, "run", str(slow), "--mode", "async", "--json").stdout)["execution_id"]
    eventually(lambda: json.loads(wfx(tmp_path, "status", running, "--json").stdout)["status"] == "running",
               timeout=30, interval=0.05, what="the async run to start")

    on_queued = wfx(tmp_path, "cancel", queued)
    on_running = wfx(tmp_path, "cancel", running, "--json")
    assert on_running.returncode == 0, on_running.stderr
    eventually(lambda: json.loads(wfx(tmp_path, "status", running, "--json").stdout)["status"] == "cancelled",
               timeout=30, interval=0.1, what="the running execution to stop")
    on_finished = wfx(tmp_path, "cancel", running)

    assert on_queued.returncode == 0 and f"{queued} cancelled" in on_queued.stdout
    assert json.loads(on_running.stdout)["cancel"] == "cancelled"  # final at once (issue 9, item 6)
    assert on_finished.returncode == 0 and "nothing to cancel" in on_finished.stdout


def test_executor_register_accepts_a_path_given_as_a_string(tmp_path: Path) -> None:
    from workflow_executor.api import Executor

    two = tmp_path / "two.yaml"
    two.write_text(TWO)
    with Executor.local(home=tmp_path / "home") as ex:
        stored = ex.register(str(two))
        inline = ex.register("workflows: {solo: {steps: [{id: a, function: builtins.noop}]}}")

    assert [s.name for s in stored] == ["one", "two"]
    assert stored[0].source == str(two)
    assert [s.name for s in inline] == ["solo"]


def test_ctrl_c_during_a_sync_run_cancels_it_instead_of_leaving_it_running(tmp_path: Path) -> None:
    slow = tmp_path / "slow.yaml"
    slow.write_text("workflows:\n  slow:\n    steps:\n" + "".join(
        f"      - {{id: s{i}, function: builtins.sleep, args: {{seconds: 0.3}}}}\n" for i in range(40)))
    proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "run", str(slow)], cwd=ROOT,
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        running = eventually(lambda: json.loads(wfx(tmp_path, "executions", "--status", "running", "--json").stdout),
                             timeout=30, interval=0.05, what="the sync run to start")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    eid = running[0]["execution_id"]
    shown = json.loads(wfx(tmp_path, "status", eid, "--json").stdout)

    assert proc.returncode == 130
    assert "Traceback" not in err.decode() and f"execution {eid} cancelled" in err.decode()
    assert shown["status"] == "cancelled"


@pytest.mark.parametrize("command", [
    ["-m", "workflow_executor.cli", "serve", "--port", "0"],
    ["-m", "workflow_executor.cli", "run", "examples/fan_out.yaml", "--input", '"a"'],
    ["-m", "workflow_executor.cli", "keys", "create", "--scopes", "run"],
    ["-m", "workflow_executor.mcp.serve", "--port", "0"],
])
def test_a_wfx_home_that_is_a_file_ends_with_one_line_naming_wfx_home(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory\n")
    out = subprocess.run([sys.executable, *command], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode in (1, 2) and "Traceback" not in out.stderr, out.stderr
    [line] = out.stderr.strip().splitlines()
    assert "WFX_HOME" in line and str(home) in line
    assert "invalid_argument" in line or command[1] == "workflow_executor.mcp.serve"
    assert home.read_text() == "not a directory\n"
