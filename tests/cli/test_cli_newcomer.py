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


def test_a_failed_step_prints_its_fix_and_validation_warnings_print_theirs(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflows:\n  w:\n    steps:\n"
                  "      - {id: each, function: builtins.echo, args: {value: '${x}'},"
                  " loop: {for_each: '${input.items}', var: x, max: 1}}\n")
    out = wfx(tmp_path, "run", str(wf), "--input", '{"items": [1, 2]}')
    assert out.returncode == 1
    assert "[limit_exceeded]" in out.stderr and " Fix: raise loop.max" in out.stderr
    lonely = tmp_path / "lonely.yaml"
    lonely.write_text("workflows:\n  w:\n    steps:\n      - {id: a, function: builtins.noop, output: {to: c}}\n"
                      "      - {id: b, function: builtins.noop}\n      - {id: c, function: builtins.noop}\n")
    out = wfx(tmp_path, "validate", str(lonely))
    [warning] = [line for line in out.stdout.splitlines() if line.startswith("  warning")]
    assert "can never run" in warning and " Fix: " in warning


def test_loop_iterations_are_not_counted_as_retries(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", '"a, b, c"', "--json")
    steps = {s["id"]: s for s in json.loads(out.stdout)["steps"]}
    assert steps["each"]["attempts"] == 1


def test_progress_says_queued_with_the_step_count_and_a_rerun_counts_the_whole_workflow(tmp_path: Path) -> None:
    from workflow_executor.api import Executor

    flag = tmp_path / "flag"
    flag.touch()
    wf = tmp_path / "five.yaml"
    wf.write_text("workflows:\n  five:\n    steps:\n" + "".join(
        f"      - {{id: s{i}, function: builtins.echo, args: {{value: {i}}}}}\n" for i in range(4))
        + "      - {id: last, function: builtins.fail, args: {message: boom}}\n")
    with Executor.local(wf, memory=True) as ex:
        queued = ex.submit("five", None, dispatch=False)
        assert queued.progress.total == 5 and queued.describe() == "Queued: 5 steps to run"
        failed = ex.run("five")
        assert failed.status.value == "failed"
        from workflow_executor import reruns

        again = reruns.prepare(ex.engine, failed, None, "sync")
        stored = ex.status(again.id)
        assert (stored.progress.completed, stored.progress.total) == (4, 5)
        assert stored.describe() == "Running step 5 of 5"
        assert failed.describe() == "4 of 5 steps ran"
    with Executor.local("examples/fan_out.yaml", memory=True) as ex:  # the README's snippet
        assert ex.run("fan_out", "a").progress.describe() == "6 of 6 steps ran"


def test_validation_reports_every_problem_of_a_step_not_only_its_shape(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflows:\n  w:\n    steps:\n"
                   "      - {id: a, function: builtins.echo, args: {value: 1}, retry: -3, output: {to: nowhere}}\n")
    out = wfx(tmp_path, "validate", str(bad), "--json")
    paths = {e["path"] for e in json.loads(out.stdout)[0]["errors"]}
    assert paths == {"workflows.w.steps[0].retry", "workflows.w.steps[0].output.to"}


def test_the_help_lists_no_hidden_command_and_every_option_says_what_it_does() -> None:
    import argparse

    from workflow_executor.cli import parser

    p = parser()
    text = p.format_help()
    assert "SUPPRESS" not in text and "worker" not in text
    commands = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    parsers = list(commands.choices.values())
    parsers += [sp for c in parsers for a in c._actions if isinstance(a, argparse._SubParsersAction)
                for sp in a.choices.values()]
    silent = [(c.prog, a.dest) for c in parsers for a in c._actions
              if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction) and not a.help]
    assert silent == []


def test_an_empty_list_says_so_and_a_bad_status_or_limit_is_a_usage_error(tmp_path: Path) -> None:
    for command in (["list"], ["executions"], ["executions", "--status", "failed"]):
        out = wfx(tmp_path, *command)
        assert (out.returncode, out.stdout) == (0, "")
        assert out.stderr.startswith("no "), command
    bogus = wfx(tmp_path, "executions", "--status", "bogus")
    assert bogus.returncode == 2 and "invalid choice: 'bogus'" in bogus.stderr
    negative = wfx(tmp_path, "executions", "--limit", "-1")
    assert negative.returncode == 2 and "from 1 to 500" in negative.stderr


def test_watch_in_a_pipe_ends_with_a_newline_and_does_not_wrap_errors(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflows:\n  w:\n    steps:\n      - {id: nap, function: builtins.sleep, args: {seconds: 1}}\n"
                  "      - {id: boom, function: builtins.fail, args: {message: '" + "a long reason " * 12 + "'}}\n")
    started = json.loads(wfx(tmp_path, "run", str(wf), "--mode", "async", "--json").stdout)
    out = wfx(tmp_path, "watch", started["execution_id"])  # followed while it runs, into a pipe
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[-1].startswith(f"{started['execution_id']}  w  failed")  # the tree's last line ended
    [error] = [line for line in lines if "error: [" in line]
    assert error.count("a long reason") == 12


def test_a_missing_input_field_says_how_to_pass_it(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", "examples/validation_loop.yaml", "--json")
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "unresolved_reference"
    assert "--input '{\"record\": ...}'" in error["details"]["fix"]


def test_a_missing_csv_names_the_files_root_setting(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", "examples/csv_report.yaml", "--input", '{"file": "sales.csv"}')
    assert out.returncode == 1
    assert "WFX_FILES_ROOT" in out.stderr and "Fix: " in out.stderr
    assert str(tmp_path) not in out.stderr  # the setting, never the server's path


def test_validate_and_register_read_a_folder_of_workflows_alike(tmp_path: Path) -> None:
    checked = wfx(tmp_path, "validate", "examples", "--json")
    stored = wfx(tmp_path, "register", "examples", "--json")
    assert checked.returncode == stored.returncode == 0, checked.stdout
    files = {Path(r["file"]).name for r in json.loads(checked.stdout)}
    assert files == {Path(r["file"]).name for r in json.loads(stored.stdout)}
    assert "fan_out.yaml" in files


def test_fake_llm_serves_an_openai_compatible_model_that_the_openai_client_talks_to(tmp_path: Path) -> None:
    import signal

    import openai

    full = dict(os.environ, WFX_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "fake-llm", "--port", "0"], cwd=ROOT,
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once it listens (bounded by the test timeout)
        base_url = line.split("OPENAI_BASE_URL=")[1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "reply to: hi"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.communicate(timeout=10)
