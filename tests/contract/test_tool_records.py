"""ToolRecords contract (the tasklist's and the consumers' store), one suite over every adapter:
memory, SQLite and Firestore on its emulator. Owners never see each other's records."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from workflow_executor.adapters.firestore_records import FirestoreToolRecords
from workflow_executor.adapters.tool_records import MemoryToolRecords, SqliteToolRecords
from workflow_executor.ports_tools import ToolRecords

from emulators import session as emulators

FACTORIES: dict[str, Callable[[Path], ToolRecords]] = {
    "memory": lambda tmp: MemoryToolRecords(),
    "sqlite": lambda tmp: SqliteToolRecords(tmp / "wfx.db"),
    "firestore": lambda tmp: FirestoreToolRecords(emulators.firestore_client(), owns_client=True),
}


@pytest.fixture(params=list(FACTORIES))
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ToolRecords]:
    rec = FACTORIES[request.param](tmp_path)
    yield rec
    close = getattr(rec, "close", None)
    if close is not None:
        close()


def _owner() -> str:
    return f"key:{uuid.uuid4().hex}"  # ':' and other characters a principal may hold


def test_an_inserted_record_reads_back_and_a_taken_key_is_refused(records: ToolRecords) -> None:
    me = _owner()
    assert records.insert(me, "task", "task-1", {"description": "a", "n": 1, "tags": ["x"], "done": False})
    assert records.get(me, "task", "task-1") == {"description": "a", "n": 1, "tags": ["x"], "done": False}
    assert not records.insert(me, "task", "task-1", {"description": "other"})
    assert records.get(me, "task", "task-1")["description"] == "a"  # type: ignore[index]


def test_records_list_in_insertion_order_and_put_keeps_the_place(records: ToolRecords) -> None:
    me = _owner()
    for key in ("b", "a", "c"):
        assert records.insert(me, "task", key, {"k": key})
    records.put(me, "task", "b", {"k": "b", "changed": True})
    records.put(me, "task", "d", {"k": "d"})  # put of a new key inserts it, last
    assert [r["k"] for r in records.list(me, "task")] == ["b", "a", "c", "d"]
    assert records.list(me, "task")[0] == {"k": "b", "changed": True}
    assert [r["k"] for r in records.list(me, "task", limit=2)] == ["b", "a"]


def test_put_replaces_the_whole_record(records: ToolRecords) -> None:
    me = _owner()
    records.put(me, "task", "t", {"a": {"x": 1, "y": 2}, "b": 1})
    records.put(me, "task", "t", {"a": {"x": 3}})
    assert records.get(me, "task", "t") == {"a": {"x": 3}}


def test_delete_says_whether_there_was_a_record(records: ToolRecords) -> None:
    me = _owner()
    records.insert(me, "task", "t", {"a": 1})
    assert records.delete(me, "task", "t") is True
    assert records.delete(me, "task", "t") is False
    assert records.get(me, "task", "t") is None
    assert records.list(me, "task") == []


def test_one_owner_never_sees_or_changes_another_owners_records(records: ToolRecords) -> None:
    alice, bob = _owner(), _owner()
    records.insert(alice, "task", "task-1", {"who": "alice"})
    assert records.get(bob, "task", "task-1") is None
    assert records.list(bob, "task") == []
    assert records.delete(bob, "task", "task-1") is False
    assert records.insert(bob, "task", "task-1", {"who": "bob"})  # the same key is bob's own
    records.put(bob, "task", "task-1", {"who": "bob2"})
    assert records.get(alice, "task", "task-1") == {"who": "alice"}
    assert records.list(alice, "task") == [{"who": "alice"}]


def test_kinds_are_kept_apart(records: ToolRecords) -> None:
    me = _owner()
    records.insert(me, "task", "x", {"kind": "task"})
    records.insert(me, "mq_consumer", "x", {"kind": "consumer"})
    assert records.list(me, "task") == [{"kind": "task"}]
    assert records.get(me, "mq_consumer", "x") == {"kind": "consumer"}


def test_concurrent_inserts_of_one_key_let_exactly_one_win(records: ToolRecords) -> None:
    me = _owner()
    wins: list[bool] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        won = records.insert(me, "task", "task-1", {"by": n})
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False, False, False, True]
    assert len(records.list(me, "task")) == 1
