"""The journal of agent turns (record_turn / load_turns), over every ExecutionStore adapter."""

from __future__ import annotations

from collections.abc import Callable

from test_execution_store import code_of, race
from workflow_executor.models import Execution
from workflow_executor.ports import ExecutionStore


def test_turns_come_back_in_order_per_key_and_survive_json(
        store: ExecutionStore, make_execution: Callable[..., Execution]) -> None:
    ex, _ = store.create(make_execution())
    turns = [{"kind": "model", "message": {"role": "assistant", "content": f"t{i}"}, "usage": {"prompt_tokens": i}}
             for i in range(3)]
    for i, t in enumerate(turns):
        assert store.record_turn(ex.id, "ask/0@1", i, t) == t
    store.record_turn(ex.id, "ask/0@2", 0, {"kind": "tool", "content": "other attempt"})
    assert store.load_turns(ex.id, "ask/0@1") == turns
    assert store.load_turns(ex.id, "ask/0@2") == [{"kind": "tool", "content": "other attempt"}]
    assert store.load_turns(ex.id, "never") == []


def test_the_first_writer_of_a_turn_wins_and_both_writers_learn_it(
        store: ExecutionStore, make_execution: Callable[..., Execution]) -> None:
    ex, _ = store.create(make_execution())
    results = race(4, lambda i: store.record_turn(ex.id, "k", 0, {"writer": i}))
    winners = {r["writer"] for r in results if isinstance(r, dict)}
    assert len(winners) == 1 and len(results) == 4
    assert store.load_turns(ex.id, "k") == [{"writer": winners.pop()}]


def test_keys_with_slashes_and_dots_stay_apart_and_a_gap_ends_the_journal(
        store: ExecutionStore, make_execution: Callable[..., Execution]) -> None:
    ex, _ = store.create(make_execution())
    store.record_turn(ex.id, "a/b.1@1", 0, {"n": 0})
    store.record_turn(ex.id, "a/b.1@1", 1, {"n": 1})
    store.record_turn(ex.id, "a/b.1@1", 3, {"n": 3})
    store.record_turn(ex.id, "a/b", 0, {"n": "other"})
    assert store.load_turns(ex.id, "a/b.1@1") == [{"n": 0}, {"n": 1}]


def test_a_turn_of_an_unknown_execution_is_not_found(store: ExecutionStore) -> None:
    assert code_of(lambda: store.record_turn("no-such-execution", "k", 0, {})) == "not_found"
