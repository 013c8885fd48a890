"""Every example says how to run it, and the command it gives works as written (issue 20): the
offline ones as they are, the LLM ones against the fake model (`wfx fake-llm`'s server)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import LLMServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir()
                  if (p.suffix == ".yaml" or (p.is_dir() and (p / "workflows.yaml").exists())))


def _header(example: Path) -> str:
    text = (example / "workflows.yaml" if example.is_dir() else example).read_text()
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))


def _command(example: Path) -> str:
    found = re.findall(rf"^#   (.*wfx run examples/{re.escape(example.name)}\b.*)$", _header(example), re.M)
    assert found, f"{example.name} does not say how to run it (a '#   wfx run examples/{example.name} ...' line)"
    return str(found[0])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_example_says_how_to_run_it_and_that_command_works(example: Path, tmp_path: Path) -> None:
    command = _command(example)
    if "wfx serve" in _header(example):  # it calls the endpoint at a fixed port: said, not run here
        pytest.skip(f"{example.name} needs `wfx serve` on its port")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # csv_report writes next to its CSV
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFX_", "OPENAI_"))}
    env.update(WFX_HOME=str(tmp_path / "home"), PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "shared"), env.get("PYTHONPATH", "")) if p))
    offline = "fake-llm" not in _header(example)
    with LLMServer() as llm:
        if not offline:
            env.update(OPENAI_BASE_URL=llm.base_url, WFX_MODEL="gpt-4o-mini")
        out = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
        asked = len(llm.requests)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[2] == "completed"
    assert (asked == 0) == offline
