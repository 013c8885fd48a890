"""ExecutionQuery's search filters (time range, id prefix, error text) with cursors, run over every
adapter in ``conftest.STORE_FACTORIES``: the executions list finds a run however old it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.adapters.sqlite_list import list_sql
from workflow_executor.errors import WfxError
from workflow_executor.models import ErrorInfo, Execution, ExecutionStatus
from workflow_executor.ports import ExecutionQuery, ExecutionStore

MakeExecution = Callable[..., Execution]
T0 = 1000.0


def _token() -> str:
    return "w" + uuid.uuid4().hex[:12]  # a word no other test's error holds


def _failed(store: ExecutionStore, make: MakeExecution, code: str, message: str, **fields: Any) -> Execution:
    run, _ = store.create(make(**fields))
    status = ExecutionStatus.TIMEOUT if code == "timeout" else ExecutionStatus.FAILED
    return store.finish(run.id, None, status, error=ErrorInfo(code=code, message=message), now_s=T0 + 50)


def _all(store: ExecutionStore, limit: int = 500, **query: Any) -> list[str]:
    """Every id the query answers, page by page (each page at most ``limit``)."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = store.list(ExecutionQuery(limit=limit, cursor=cursor, **query))
        assert len(page.items) <= limit
        seen += [e.id for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def _code(fn: Callable[[], object]) -> str:
    with pytest.raises(WfxError) as err:
        fn()
    return err.value.code


def test_a_time_range_keeps_the_runs_created_inside_it_both_ends_included(
        store: ExecutionStore, make_execution: MakeExecution) -> None:
    name = f"wf-{uuid.uuid4().hex}"
    runs = {t: store.create(make_execution(workflow_name=name, created_at_s=T0 + t))[0].id for t in range(1, 11)}
    want = [runs[t] for t in (6, 5, 4, 3)]
    assert _all(store, workflow_name=name, created_from_s=T0 + 3, created_to_s=T0 + 6) == want
    assert _all(store, limit=1, workflow_name=name, created_from_s=T0 + 3, created_to_s=T0 + 6) == want
    assert _all(store, workflow_name=name, created_from_s=T0 + 9) == [runs[10], runs[9]]
    assert _all(store, workflow_name=name, created_to_s=T0 + 1.5) == [runs[1]]


def test_an_id_prefix_finds_a_run_and_its_children_under_the_callers_filters(
        store: ExecutionStore, make_execution: MakeExecution) -> None:
    base = uuid.uuid4().hex[:16]
    parent = store.create(make_execution(id=base, principal="alice", created_at_s=T0 + 1))[0]
    child = store.create(make_execution(id=f"{base}.step.0", principal="alice", created_at_s=T0 + 2))[0]
    bobs = store.create(make_execution(id=f"{base}.bob", principal="bob", created_at_s=T0 + 3))[0]
    store.create(make_execution(id=base[:8] + "x" * 8, principal="alice"))  # shares only the first 8
    assert _all(store, id_prefix=base) == [bobs.id, child.id, parent.id]
    assert _all(store, limit=1, id_prefix=base, principal="alice") == [child.id, parent.id]
    assert _all(store, id_prefix=base + ".step") == [child.id]
    assert _all(store, id_prefix=base, status=ExecutionStatus.COMPLETED) == []


def test_error_text_matches_words_of_the_error_code_and_message_case_insensitively(
        store: ExecutionStore, make_execution: MakeExecution) -> None:
    token, name = _token(), f"wf-{uuid.uuid4().hex}"
    refused = _failed(store, make_execution, "step_failed", f"Connection REFUSED by {token}", workflow_name=name,
                      principal="alice", created_at_s=T0 + 1)
    late = _failed(store, make_execution, "timeout", f"{token} ran past its deadline", workflow_name=name,
                   principal="bob", created_at_s=T0 + 2)
    store.create(make_execution(workflow_name=name, input={"note": f"refused {token}"}))  # no error: never found
    assert _all(store, error_text=token) == [late.id, refused.id]
    assert _all(store, limit=1, error_text=token.upper()) == [late.id, refused.id]
    assert _all(store, error_text=f"refused {token}") == [refused.id]
    assert _all(store, error_text=f"step_failed, {token}!") == [refused.id]  # the code is words too
    assert _all(store, error_text=f"{token} deadline", status=ExecutionStatus.TIMEOUT) == [late.id]
    assert _all(store, error_text=token, principal="alice", workflow_name=name) == [refused.id]
    assert _all(store, error_text=f"{token} nowhere") == []


def test_a_search_finds_the_oldest_match_behind_many_newer_runs(
        store: ExecutionStore, make_execution: MakeExecution) -> None:
    token, name = _token(), f"wf-{uuid.uuid4().hex}"
    old = _failed(store, make_execution, "step_failed", f"disk full on {token}", workflow_name=name,
                  created_at_s=T0)
    for i in range(30):
        _failed(store, make_execution, "step_failed", "disk full elsewhere", workflow_name=name,
                created_at_s=T0 + 100 + i)
    page = store.list(ExecutionQuery(error_text=token, limit=5))
    assert ([e.id for e in page.items], page.next_cursor) == ([old.id], None)
    assert page.items[0].error == ErrorInfo(code="step_failed", message=f"disk full on {token}")
    by_id = store.list(ExecutionQuery(id_prefix=old.id[:20], created_to_s=T0, limit=5))
    assert [e.id for e in by_id.items] == [old.id]


@pytest.mark.parametrize("query", [ExecutionQuery(id_prefix="abc"), ExecutionQuery(error_text=" ,.!"),
                                   ExecutionQuery(created_from_s=T0 + 2, created_to_s=T0 + 1)])
def test_a_search_it_cannot_answer_is_refused_as_invalid(store: ExecutionStore, query: ExecutionQuery) -> None:
    assert _code(lambda: store.list(query)) == "invalid_argument"


def test_sqlite_searches_through_indexes_not_a_scan_of_every_run(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path / "wfx.db")
    try:
        plans = {}
        for label, query in (("error", ExecutionQuery(error_text="refused")),
                             ("id", ExecutionQuery(id_prefix="abcd1234")),
                             ("time", ExecutionQuery(created_from_s=1.0, created_to_s=2.0))):
            sql, args = list_sql(query)
            plans[label] = " | ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "USING INDEX executions_errors" in plans["error"]
        assert "PRIMARY KEY" in plans["id"] or "sqlite_autoindex_executions_1" in plans["id"]
        assert "USING INDEX executions_created" in plans["time"]
        assert all("SCAN executions" not in p or "USING" in p for p in plans.values())
    finally:
        store.close()


def test_memory_and_sqlite_also_match_part_of_a_word(store: ExecutionStore, make_execution: MakeExecution,
                                                     request: pytest.FixtureRequest) -> None:
    if "firestore" in request.node.callspec.id:
        pytest.skip("Firestore matches whole words (its stored error_words)")
    token = _token()
    run = _failed(store, make_execution, "step_failed", f"Connection refused by {token}")
    assert _all(store, error_text=f"refus {token[:-2]}") == [run.id]
