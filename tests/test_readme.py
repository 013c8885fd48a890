"""The README stays true: its set-up commands exist and are what CI runs, its `wfx` commands
exist, and the example output shown is what the example really prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from workflow_executor.cli import parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_two_setup_commands_are_make_targets_and_ci_runs_the_test_one() -> None:
    block = README.split("## Two commands on a fresh machine", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make serve", "make check"]
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    assert {"serve", "check"} <= targets
    assert "make check" in (ROOT / ".ci" / "run").read_text()


def test_every_wfx_command_in_the_readme_is_a_real_subcommand() -> None:
    sub = next(a for a in parser()._actions if a.dest == "command")
    names = set(sub.choices)  # type: ignore[arg-type]
    used = set(re.findall(r"`wfx (\w[\w-]*)", README))
    assert used and used <= names, used - names


def test_the_first_workflow_output_shown_is_what_it_really_prints(tmp_path: Path) -> None:
    after = README.split("$ .venv/bin/wfx run examples/fan_out.yaml", 1)[1].split("```", 1)[0]
    shown = after.split("\n", 1)[1].strip().splitlines()
    out = subprocess.run([sys.executable, "-m", "workflow_executor.cli", "run", "examples/fan_out.yaml", "--input",
                          '"alpha, beta, gamma"'], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, WFX_HOME=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    real = out.stdout.strip().splitlines()
    assert real[0].split()[1:] == shown[0].split()[1:]  # all but the execution id
    assert real[1:] == shown[1:]
