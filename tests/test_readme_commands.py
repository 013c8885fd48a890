"""The README's console examples run as written. Every ```console block marked
``<!-- runnable -->`` is run, its ``$ `` commands in one bash shell from the repository root,
and each command's output must match what the README shows: `...` stands for left-out text
(a line of only `...` for any lines), and ids, numbers and times may differ. A command without
shown output must succeed silently. The one liberty taken: the README's ports 4020 (`wfx serve`)
and 4021 (`wfx fake-llm`) become free ports, so the test never collides with a server already
running on this machine."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from wfx_procs import ROOT, free_port

README = ROOT / "README.md"
MARK = "<!-- runnable -->"


@dataclass
class Command:
    text: str
    shown: list[str] = field(default_factory=list)

    @property
    def background(self) -> bool:
        return self.text.rstrip().endswith("&")


def _complete(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def runnable_blocks(markdown: str) -> list[list[Command]]:
    """The commands of each marked console block, with the output shown after each."""
    blocks: list[list[Command]] = []
    for body in re.findall(re.escape(MARK) + r"\n```console\n(.*?)\n```", markdown, re.S):
        commands: list[Command] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:]))
            elif commands and not _complete(commands[-1].text):
                commands[-1].text += "\n" + line
            elif commands:
                commands[-1].shown.append(line)
        blocks.append(commands)
    return blocks


def _normalise(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{32}\b", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", "<time>", text)
    return re.sub(r"\d+\.\d+", "<n>", text)


def matches(shown: list[str], real: str) -> bool:
    """True when ``real`` is what ``shown`` shows, `...` being left-out text."""
    parts = []
    for line in _normalise("\n".join(shown)).splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.fullmatch("".join(parts), _normalise(real.rstrip("\n") + "\n" if real.strip() else ""),
                        re.S) is not None


PORTS = ("4020", "4021")  # the README's ports, each replaced by a free one


def _script(commands: list[Command], out: Path, ports: list[int]) -> str:
    lines = ["set -u"]
    for i, cmd in enumerate(commands):
        text = cmd.text
        for given, port in zip(PORTS, ports, strict=True):
            text = text.replace(given, str(port))
        # braces keep `export` in this shell; a background job inherits the redirection
        lines.append(f"{{\n{text}\n}} > {out}/{i}.out 2>&1; echo $? > {out}/{i}.rc")
    return "\n".join(lines) + "\n"


def test_the_readme_marks_its_console_examples_runnable() -> None:
    blocks = runnable_blocks(README.read_text())

    assert len(blocks) >= 3
    assert all(block for block in blocks)
    assert matches(["a ... b", "...", "end"], "a 1 b\nx\ny\nend\n")
    assert not matches(["a", "b"], "a\nc\n")


@pytest.mark.parametrize("index", range(len(runnable_blocks(README.read_text()))))
def test_a_runnable_readme_block_runs_as_written(index: int, tmp_path: Path) -> None:
    commands = runnable_blocks(README.read_text())[index]
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WFX_")}
    env.update(TMPDIR=str(tmp_path), WFX_HOME=str(tmp_path / "home"))
    shell = subprocess.Popen(["bash", "-c", _script(commands, out, [free_port(), free_port()])], cwd=ROOT, env=env,
                             start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        shell_out = shell.communicate(timeout=120)[0].decode()
    finally:
        # the shell's process group holds whatever the block started in the background
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    assert shell.returncode == 0, shell_out

    for i, cmd in enumerate(commands):
        real = (out / f"{i}.out").read_text()
        rc = int((out / f"{i}.rc").read_text())
        if not cmd.background:
            assert cmd.shown or rc == 0, f"`{cmd.text}` exited {rc}: {real}"
        shown = [line.replace("4020", "PORT").replace("4021", "PORT") for line in cmd.shown]
        real = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", real)
        assert matches(shown, real), f"`{cmd.text}` printed:\n{real}\nthe README shows:\n" + "\n".join(cmd.shown)


def test_every_json_body_the_readme_sends_with_curl_is_valid_json() -> None:
    import json

    bodies = re.findall(r"-d '(\{.*?\})'", README.read_text(), re.S)

    assert len(bodies) >= 3
    for body in bodies:
        json.loads(body)  # a raw newline inside a JSON string would be -32700 at the server
