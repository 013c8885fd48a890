"""SQLite durability: a checkpoint committed with synchronous=FULL survives SIGKILL of its writer."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from workflow_executor.adapters.sqlite import SCHEMA_VERSION, SqliteExecutionStore
from workflow_executor.errors import InvalidArgument

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from workflow_executor.adapters.sqlite import SqliteExecutionStore
    from workflow_executor.models import Execution, Progress, StepRecord, StepStatus

    store = SqliteExecutionStore(sys.argv[1], synchronous="FULL")
    run = Execution(id="run-1", workflow_name="wf", workflow_hash="h", created_at_s=1.0, updated_at_s=1.0)
    store.create(run)
    store.acquire_lease("run-1", "child", 30.0, 1.0)
    for i in range(3):
        record = StepRecord(step_id=f"s{i}", status=StepStatus.COMPLETED, output={"i": [i]})
        store.save_step("run-1", "child", record, Progress(completed=i + 1, total=5), 31.0)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit
    """
)


def test_a_step_saved_before_sigkill_is_there_after_reopening(tmp_path: Path):
    path = tmp_path / "durable.db"
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    store = SqliteExecutionStore(path, synchronous="FULL")
    try:
        run = store.get("run-1")
        assert run is not None
        assert list(run.steps) == ["s0", "s1", "s2"]
        assert run.steps["s2"].output == {"i": [2]}
        assert (run.progress.completed, run.lease_owner, run.status) == (3, "child", "running")
    finally:
        store.close()


def test_opening_a_database_from_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InvalidArgument) as info:
        SqliteExecutionStore(path)
    assert info.value.code == "invalid_argument"


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path):
    with pytest.raises(InvalidArgument) as info:
        SqliteExecutionStore(tmp_path / "x.db", synchronous="OFF")  # type: ignore[arg-type]
    assert info.value.code == "invalid_argument"


@pytest.mark.parametrize(("mode", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_the_store_opens_in_wal_mode_with_the_asked_synchronous_level(tmp_path: Path, mode: str, level: int):
    store = SqliteExecutionStore(tmp_path / "modes.db", synchronous=mode)  # type: ignore[arg-type]
    try:
        db = store._db  # white-box: a kill test cannot tell FULL from OFF, only power loss could
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        store.close()
