"""Opening a database written by schema 2 (steps in a rowid table with a second B-tree for its key) or
schema 3 (steps keyed by the execution's text id) moves its executions and step records into the
schema-4 tables (keyed by the execution's integer number), in their order, and the run goes on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from workflow_executor.adapters.sqlite import SCHEMA_VERSION, SqliteExecutionStore
from workflow_executor.models import Execution, ExecutionStatus, Progress, StepRecord, StepStatus

# The two tables of schema 2 that schema 3 changes or reads, as schema 2 created them.
V2_TABLES = (
    """CREATE TABLE executions (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, workflow_name TEXT NOT NULL, principal TEXT,
        idempotency_key TEXT, created_at_s REAL NOT NULL, updated_at_s REAL NOT NULL,
        version INTEGER NOT NULL, lease_owner TEXT, lease_expires_at_s REAL,
        progress TEXT NOT NULL, doc TEXT NOT NULL)""",
    """CREATE TABLE steps (
        execution_id TEXT NOT NULL, step_id TEXT NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (execution_id, step_id))""",
)


def _close_as(db: sqlite3.Connection, version: int) -> None:
    """Mark the file as written by schema ``version`` and close it."""
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def _v2_database(path: Path) -> None:
    """A schema-2 file holding one running execution with three checkpointed steps (stored in the
    order b10, b2, a1: neither their names nor their insertion can stand in for their ``seq``)."""
    run = Execution(id="old-run", workflow_name="wf", workflow_hash="h", status=ExecutionStatus.RUNNING,
                    created_at_s=1.0, updated_at_s=5.0, lease_owner="gone", lease_expires_at_s=9.0)
    doc = run.model_dump_json(exclude={"steps", "status", "version", "lease_owner", "lease_expires_at_s",
                                       "updated_at_s", "progress"})
    db = sqlite3.connect(path)
    for statement in V2_TABLES:
        db.execute(statement)
    db.execute("INSERT INTO executions VALUES ('old-run', 'running', 'wf', NULL, NULL, 1.0, 5.0, 4, 'gone', 9.0,"
               " ?, ?)", (Progress(completed=3, total=4, current=["d"]).model_dump_json(), doc))
    for seq, step_id in ((1, "b10"), (2, "b2"), (3, "a1")):
        record = StepRecord(step_id=step_id, status=StepStatus.COMPLETED, seq=seq, output={"n": seq})
        db.execute("INSERT INTO steps VALUES ('old-run', ?, ?)", (step_id, record.model_dump_json()))
    _close_as(db, 2)


def test_a_schema_2_database_keeps_its_step_records_in_order_and_its_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _v2_database(path)
    store = SqliteExecutionStore(path)
    try:
        before = store.get("old-run")
        assert before is not None
        assert list(before.steps) == ["b10", "b2", "a1"]
        assert [r.output for r in before.steps.values()] == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert (before.progress.completed, before.lease_owner, before.version) == (3, "gone", 4)
        # the expired lease is taken over and the run checkpoints and finishes on the new table
        store.acquire_lease("old-run", "new", 30.0, 10.0)
        store.save_step("old-run", "new", StepRecord(step_id="d", status=StepStatus.COMPLETED, seq=4),
                        Progress(completed=4, total=4), 40.0)
        done = store.finish("old-run", "new", ExecutionStatus.COMPLETED, result="ok", now_s=11.0)
        assert (done.status, done.progress.completed, list(done.steps)) == ("completed", 4, ["b10", "b2", "a1", "d"])
        db = store._db  # white-box: the old tables are gone and the file says it is schema 4
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not {"steps_v2", "steps_v3", "executions_v3"} & tables
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'steps'").fetchone()[0]
        assert "WITHOUT ROWID" in sql
    finally:
        store.close()


V3_STEPS = """CREATE TABLE steps (
    execution_id TEXT NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0, owner TEXT,
    lease_until_s REAL, at_s REAL, progress TEXT, record TEXT NOT NULL,
    PRIMARY KEY (execution_id, step_id)) WITHOUT ROWID"""


def _v3_database(path: Path) -> None:
    """A schema-3 file: a finished run created first, then a running one whose two checkpoints (of
    its lease holder 'gone') carry its newest progress and lease, each with the indexes of schema 3."""
    db = sqlite3.connect(path)
    db.execute(V2_TABLES[0])
    db.execute(V3_STEPS)
    db.execute("CREATE INDEX executions_created ON executions (created_at_s, id)")
    db.execute("CREATE INDEX executions_status ON executions (status, created_at_s)")
    for run_id, status, created, owner in (("zz-old", "completed", 1.0, None), ("aa-new", "running", 2.0, "gone")):
        run = Execution(id=run_id, workflow_name="wf", workflow_hash="h", status=ExecutionStatus(status),
                        created_at_s=created, updated_at_s=created)
        doc = run.model_dump_json(exclude={"steps", "status", "version", "lease_owner", "lease_expires_at_s",
                                           "updated_at_s", "progress"})
        db.execute("INSERT INTO executions VALUES (?, ?, 'wf', NULL, NULL, ?, ?, 2, ?, ?, ?, ?)",
                   (run_id, status, created, created, owner, 9.0 if owner else None,
                    Progress(completed=0, total=3).model_dump_json(), doc))
    for seq, step_id in ((1, "b"), (2, "a")):
        for run_id, owner in (("zz-old", None), ("aa-new", "gone")):
            record = StepRecord(step_id=step_id, status=StepStatus.COMPLETED, seq=seq, output={run_id: seq})
            db.execute("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, step_id, seq, owner, 20.0 + seq if owner else None, 10.0 + seq,
                        Progress(completed=seq, total=3).model_dump_json() if owner else None,
                        record.model_dump_json()))
    _close_as(db, 3)


def test_a_schema_3_database_keys_its_runs_by_number_and_keeps_their_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _v3_database(path)
    store = SqliteExecutionStore(path)
    try:
        old, running = store.get("zz-old"), store.get("aa-new")
        assert old is not None and running is not None
        assert [(k, r.output) for k, r in old.steps.items()] == [("b", {"zz-old": 1}), ("a", {"zz-old": 2})]
        assert [(k, r.output) for k, r in running.steps.items()] == [("b", {"aa-new": 1}), ("a", {"aa-new": 2})]
        # the lease holder's checkpoints still lay their progress, lease and versions over the row
        assert (running.progress.completed, running.lease_expires_at_s, running.version) == (2, 22.0, 4)
        store.acquire_lease("aa-new", "new", 30.0, 30.0)
        store.save_step("aa-new", "new", StepRecord(step_id="c", status=StepStatus.COMPLETED, seq=3),
                        Progress(completed=3, total=3), 70.0)
        done = store.finish("aa-new", "new", ExecutionStatus.COMPLETED, result="ok", now_s=31.0)
        assert (done.status, list(done.steps)) == (ExecutionStatus.COMPLETED, ["b", "a", "c"])
        db = store._db  # white-box: numbered in creation order, the steps keyed by that number
        assert db.execute("SELECT id FROM executions ORDER BY num").fetchall() == [("zz-old",), ("aa-new",)]
        assert db.execute("SELECT run, step_id FROM steps ORDER BY run, seq").fetchall() == [
            (1, "b"), (1, "a"), (2, "b"), (2, "a"), (2, "c")]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'executions'"
                                                 " AND type = 'index'")}
        assert {"executions_created", "executions_status", "executions_idempotency"} <= indexes
        later, _ = store.create(Execution(id="0-first-by-name", workflow_name="wf", workflow_hash="h",
                                          created_at_s=40.0, updated_at_s=40.0))
        assert db.execute("SELECT num FROM executions WHERE id = ?", (later.id,)).fetchone() == (3,)
    finally:
        store.close()


def test_a_checkpoint_writes_one_row_and_leaves_the_execution_row_alone(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path / "new.db")
    try:
        run = Execution(id="r", workflow_name="wf", workflow_hash="h", created_at_s=1.0, updated_at_s=1.0)
        store.create(run)
        store.acquire_lease("r", "w", 30.0, 1.0)
        db = store._db  # white-box: what one checkpoint changes
        row_before = db.execute("SELECT * FROM executions WHERE id = 'r'").fetchone()
        changes = db.total_changes
        store.save_step("r", "w", StepRecord(step_id="a", status=StepStatus.COMPLETED, seq=1),
                        Progress(completed=1, total=2, current=["b"]), 60.0)
        assert db.total_changes - changes == 1
        assert db.execute("SELECT * FROM executions WHERE id = 'r'").fetchone() == row_before
        after = store.get("r")
        assert after is not None
        assert (after.progress.current, after.lease_expires_at_s) == (["b"], 60.0)
        assert json.loads(db.execute("SELECT record FROM steps").fetchone()[0])["step_id"] == "a"
    finally:
        store.close()


V3_REGISTRY = (
    """CREATE TABLE workflows (
        name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, document TEXT NOT NULL,
        source TEXT, description TEXT, created_at_s REAL NOT NULL,
        PRIMARY KEY (name, version), UNIQUE (name, hash))""",
    "CREATE TABLE workflow_heads (name TEXT PRIMARY KEY, hash TEXT NOT NULL)",
)


def test_a_file_from_before_source_texts_and_error_search_gains_both_and_keeps_its_rows(tmp_path: Path) -> None:
    from workflow_executor.adapters.common import workflow_hash
    from workflow_executor.adapters.sqlite_registry import SqliteWorkflowRegistry
    from workflow_executor.models import ErrorInfo
    from workflow_executor.ports import ExecutionQuery

    path = tmp_path / "old.db"
    _v2_database(path)
    document = {"workflows": {"old": {"steps": []}}}
    db = sqlite3.connect(path)
    for statement in V3_REGISTRY:
        db.execute(statement)
    db.execute("INSERT INTO workflows VALUES ('old', 1, ?, ?, 'old.yaml', NULL, 1.0)",
               (workflow_hash(document), json.dumps(document)))
    db.execute("INSERT INTO workflow_heads VALUES ('old', ?)", (workflow_hash(document),))
    failed = Execution(id="old-failed", workflow_name="wf", workflow_hash="h", status=ExecutionStatus.FAILED,
                       created_at_s=2.0, updated_at_s=3.0,
                       error=ErrorInfo(code="step_failed", message="Connection Refused by db"))
    doc = failed.model_dump_json(exclude={"steps", "status", "version", "lease_owner", "lease_expires_at_s",
                                          "updated_at_s", "progress"})
    db.execute("INSERT INTO executions VALUES ('old-failed', 'failed', 'wf', NULL, NULL, 2.0, 3.0, 1, NULL, NULL,"
               " ?, ?)", (Progress().model_dump_json(), doc))
    _close_as(db, 3)
    registry = SqliteWorkflowRegistry(path)
    store = SqliteExecutionStore(path)
    try:
        old = registry.get("old")
        assert old is not None and (old.source, old.source_text, old.version) == ("old.yaml", None, 1)
        new = registry.put("old", {"workflows": {"old": {"steps": [{"id": "a"}]}}}, source_text="# v2\n")
        assert (new.version, registry.get("old").source_text) == (2, "# v2\n")
        # an old failed run is found by its error text, a run without an error is not
        found = store.list(ExecutionQuery(error_text="refused"))
        assert [e.id for e in found.items] == ["old-failed"]
    finally:
        registry.close()
        store.close()
