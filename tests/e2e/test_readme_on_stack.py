"""The README's trigger and schedule walkthroughs, run as written on the session's emulator stack:
every ``$ `` command of the blocks marked ``<!-- runnable on the emulator stack -->``, in order,
from a scratch directory holding the README's two documents. Liberties, and only these: the
session's stack stands in for ``python -m emulators up`` and ``down`` (``emulators env`` finds it
through WFX_DEV_STATE, as after an ``up``); a listing command is repeated until it prints what the
README shows (firings and deliveries take a moment); the README's ids become the ids the run made;
times and message ids may differ."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support import eventually
from test_readme_commands import Command, matches
from workflow_executor.ports import ExecutionQuery
from workflow_executor.services import Services

from emulators.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- runnable on the emulator stack -->"
ID = re.compile(r"\b[0-9a-f]{32}\b")


def stack_commands(markdown: str) -> list[Command]:
    """The commands of every marked block, in order, each with the output the README shows."""
    commands: list[Command] = []
    for body in re.findall(re.escape(MARK) + r"\n```console\n(.*?)\n```", markdown, re.S):
        block: list[Command] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                block.append(Command(line[2:]))
            elif block and line.startswith("    ") and block[-1].text.rstrip().endswith("\\"):
                block[-1].text += "\n" + line
            elif block:
                block[-1].shown.append(line)
        commands += block
    return commands


def documents(markdown: str) -> dict[str, str]:
    """The README's ```yaml documents by the workflow each defines (its file is <name>.yaml)."""
    out = {}
    for body in re.findall(r"```yaml\n(workflows:\n  (\w+):\n.*?)```", markdown, re.S):
        out[body[1]] = body[0]
    return out


def _same_numbers(text: str) -> str:
    """Times and Pub/Sub message ids differ from run to run; nothing else may."""
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "<time>", ID.sub("<id>", text))
    return re.sub(r'("messageIds": \[)"\d+"', r'\1"<n>"', text)


def _real_id(readme_id: str, shown: list[str], real: str) -> str:
    """The id the run made where the README shows ``readme_id`` (the same line, counted from the end)."""
    back = len(shown) - next(i for i, line in enumerate(shown) if readme_id in line)
    found = ID.search(real.rstrip("\n").splitlines()[-back])
    assert found, real
    return found.group(0)


def test_the_readme_walkthroughs_run_as_written_on_the_emulator_stack(
        stack: Stack, client: Services, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    commands, docs = stack_commands(readme), documents(readme)
    for name in ("on_order", "heartbeat"):
        (tmp_path / f"{name}.yaml").write_text(docs[name])
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WFX_")}
    env.update(WFX_DEV_STATE=stack.state_dir, WFX_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    setup: list[str] = []  # the shell state so far (eval / export lines), replayed before each command
    ids: dict[str, str] = {}
    previous: tuple[list[str], str] = ([], "")

    def run(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", "\n".join(["set -eu", *setup, text])], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    assert {f".venv/bin/{c}" for c in ("python -m emulators up", "wfx register on_order.yaml",
                                        "wfx register heartbeat.yaml", "python -m emulators down")} <= {
        c.text for c in commands}
    try:
        for cmd in commands:
            if re.fullmatch(r"\.venv/bin/python -m emulators (up|down)", cmd.text):
                continue  # the session's stack stands in
            for readme_id in ID.findall(cmd.text):
                ids.setdefault(readme_id, _real_id(readme_id, *previous))
            text = ID.sub(lambda m: ids[m.group(0)], cmd.text)
            if text.startswith(("eval ", "export ")):
                setup.append(text)

            last: list[subprocess.CompletedProcess[str]] = []

            def ran(text: str = text, cmd: Command = cmd,
                    last: list[subprocess.CompletedProcess[str]] = last) -> bool:
                last[:] = [run(text)]
                return last[0].returncode == 0 and matches([_same_numbers(s) for s in cmd.shown],
                                                           _same_numbers(last[0].stdout))

            try:
                eventually(ran, timeout=60 if " executions" in text else 0, interval=0.3, what=text)
            except AssertionError:
                raise AssertionError(f"`{text}` exited {last[0].returncode} and printed:\n{last[0].stdout}"
                                     f"{last[0].stderr}\nthe README shows:\n" + "\n".join(cmd.shown)) from None
            previous = (cmd.shown, last[0].stdout)
    finally:  # a version without the schedule: the heartbeat stops firing for the rest of the session
        (tmp_path / "heartbeat.yaml").write_text(docs["heartbeat"].split("\nschedule:")[0] + "\n")
        run(".venv/bin/wfx register heartbeat.yaml")

    beats = client.store.list(ExecutionQuery(workflow_name="heartbeat", limit=200)).items
    keys = [r.idempotency_key for r in beats]
    assert len(beats) >= 2 and len(set(keys)) == len(keys)  # one execution per firing
    assert all(k is not None and k.startswith("schedule:heartbeat:0:") for k in keys)
    shown_down = next(c for c in commands if c.text.endswith("emulators down")).shown
    # the README's `down` names what a full stack runs: this one's processes plus its own JVMs
    assert set(shown_down[0].removeprefix("stopped ").split(", ")) == {p.name for p in stack.procs} | {
        "firestore", "pubsub"}
