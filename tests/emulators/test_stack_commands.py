"""`python -m emulators down|env` find the stack that `up` started: its hints name a non-default
state dir, and `eval "$(python -m emulators env)"` lets a bare `down` in that shell find it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulators.__main__ import _hint
from emulators.stack import Proc, Stack, _alive, _start_time

ROOT = Path(__file__).resolve().parents[2]


def _fake_stack(state: Path) -> tuple[Stack, subprocess.Popen[bytes]]:
    """A state file that records one process of ours (a sleeper in its own group)."""
    sleeper = subprocess.Popen(["sleep", "120"], start_new_session=True)
    state.mkdir(parents=True)
    stack = Stack(project="p", state_dir=str(state), env={"WFX_STORE": "firestore"},
                  urls={"mcp": "http://127.0.0.1:1/"},
                  procs=[Proc("sleeper", sleeper.pid, 1, str(state / "log"), _start_time(sleeper.pid))])
    stack.save()
    return stack, sleeper


def test_a_bare_down_after_eval_env_stops_the_stack_of_a_custom_state_dir(tmp_path: Path) -> None:
    stack, sleeper = _fake_stack(tmp_path / "custom state")
    env = {k: v for k, v in os.environ.items() if k != "WFX_DEV_STATE"}
    script = (f'eval "$({sys.executable} -m emulators env --state-dir "$STATE")"\n'
              f"cd /\n"  # from anywhere
              f"PYTHONPATH={ROOT} {sys.executable} -m emulators down")
    try:
        out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={**env, "STATE": stack.state_dir})
    finally:
        if sleeper.poll() is None and _alive(stack.procs[0]):
            os.killpg(sleeper.pid, 9)
        sleeper.wait(10)

    assert out.returncode == 0, out.stderr
    assert "stopped sleeper" in out.stdout
    assert sleeper.returncode is not None and sleeper.returncode < 0  # ended by our signal
    assert not (tmp_path / "custom state" / "stack.json").exists()


def test_hints_name_the_state_dir_only_when_it_is_not_the_default(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFX_DEV_STATE", raising=False)

    assert _hint("down", str(ROOT / ".wfx" / "dev")) == "python -m emulators down"
    assert _hint("down", str(tmp_path)) == f"python -m emulators down --state-dir {tmp_path}"


def test_env_points_the_cli_at_the_stack(tmp_path: Path) -> None:
    stack, sleeper = _fake_stack(tmp_path / "dev")
    try:
        out = subprocess.run([sys.executable, "-m", "emulators", "env", "--state-dir", stack.state_dir], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    finally:
        stack.stop()
        sleeper.wait(10)

    assert out.returncode == 0, out.stderr
    assert "export WFX_URL=http://127.0.0.1:1/" in out.stdout.splitlines()
    assert f"export WFX_DEV_STATE={stack.state_dir}" in out.stdout.splitlines()
