"""Crash and restart: a process killed with SIGKILL mid-run is resumed by the next embedded
server start, and no step that had finished runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from engine_fns import count
from support import eventually
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.models import ExecutionStatus, StepStatus

HERE = Path(__file__).parent

RUNNER = textwrap.dedent("""
    import sys
    from workflow_executor.api import Executor
    ex = Executor.local()
    if sys.argv[1] == "start":
        e = ex.start(workflow=open(sys.argv[2]).read())
        print(e.id, flush=True)
        ex.wait(e.id, timeout=60)
    else:
        ids = ex.resume_pending()
        print(",".join(ids), flush=True)
        for i in ids:
            print(ex.wait(i, timeout=60).status.value, flush=True)
    ex.close()
""")


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(WFX_HOME=str(tmp / "home"), WFX_FUNCTION_MODULES="engine_fns",
               PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]))
    return env


def test_a_run_killed_with_sigkill_resumes_after_restart_without_rerunning_finished_steps(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    steps = "\n".join(
        f"      - {{id: s{i}, function: engine_fns.slow_mark, args: {{log: '{log}', name: s{i}, seconds: 0.15}}}}"
        for i in range(6))
    wf = tmp_path / "wf.yaml"
    wf.write_text(f"workflows:\n  long:\n    steps:\n{steps}\n")
    env = _env(tmp_path)
    first = subprocess.Popen([sys.executable, "-c", RUNNER, "start", str(wf)], env=env, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        assert first.stdout is not None
        execution_id = first.stdout.readline().strip()
        store = SqliteExecutionStore(tmp_path / "home" / "wfx.db")
        eventually(lambda: (e := store.get(execution_id)) is not None and len(e.steps) >= 2, timeout=20,
                   what="two finished steps")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        if first.stdout is not None:
            first.stdout.close()
    at_kill = store.get(execution_id)
    assert at_kill is not None and at_kill.status == ExecutionStatus.RUNNING
    finished_before = {sid for sid, r in at_kill.steps.items() if r.status == StepStatus.COMPLETED}
    assert len(finished_before) >= 2

    second = subprocess.run([sys.executable, "-c", RUNNER, "resume"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 0, second.stderr
    assert execution_id in second.stdout.splitlines()[0].split(",")
    final = store.get(execution_id)
    assert final is not None and final.status == ExecutionStatus.COMPLETED
    assert len(final.steps) == 6
    for sid in finished_before:
        assert count(str(log), sid) == 1, f"finished step {sid} ran again"
    for i in range(6):
        assert count(str(log), f"s{i}") >= 1
    store.close()
