"""The daily key ledger's records (key_usage / put_key_usage, compare-and-set on a version) over
every ExecutionStore adapter, and the ledger on top of them: parallel reservations from several
store handles (processes, for SQLite and Firestore) never grant more than the daily limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_execution_store import race
from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.engine.key_ledger import KeyBusy, KeyGrant, KeyLedger, utc_day
from workflow_executor.errors import BudgetExceeded
from workflow_executor.models import Budget, KeyHold, KeyUsage, Usage
from workflow_executor.ports import ExecutionStore
from workflow_executor.settings_llm import ModelPrice

from emulators import session as emulators

DAY = "2026-12-07"


def fresh_principal() -> str:
    return f"key/{uuid.uuid4().hex}"  # a '/' as well: names are not document paths


def test_a_principal_day_starts_empty_and_each_write_needs_the_version_it_read(store: ExecutionStore) -> None:
    who = fresh_principal()
    assert store.key_usage(who, DAY) is None
    first = KeyUsage(principal=who, day=DAY, tokens=60, cost_usd=0.01,
                     holds={"h1": KeyHold(tokens=40, cost_usd=0.001, expires_at_s=2e9)})
    assert store.put_key_usage(first, 0)
    assert not store.put_key_usage(first, 0)  # created already: a second creator loses
    got = store.key_usage(who, DAY)
    assert got is not None and got.version == 1 and got.tokens == 60 and got.holds["h1"].tokens == 40
    assert store.put_key_usage(got.model_copy(update={"tokens": 90, "holds": {}}), 1)
    assert not store.put_key_usage(got.model_copy(update={"tokens": 1}), 1)  # stale: someone wrote since
    final = store.key_usage(who, DAY)
    assert final is not None and (final.version, final.tokens, final.holds) == (2, 90, {})


def test_days_and_principals_are_kept_apart(store: ExecutionStore) -> None:
    a, b = fresh_principal(), fresh_principal()
    assert store.put_key_usage(KeyUsage(principal=a, day=DAY, tokens=1), 0)
    assert store.put_key_usage(KeyUsage(principal=a, day="2026-12-08", tokens=2), 0)
    assert store.put_key_usage(KeyUsage(principal=b, day=DAY, tokens=3), 0)
    found = [store.key_usage(p, d) for p, d in ((a, DAY), (a, "2026-12-08"), (b, DAY))]
    assert [u.tokens if u else None for u in found] == [1, 2, 3]


def test_concurrent_writers_each_win_exactly_once_per_version(store: ExecutionStore) -> None:
    who = fresh_principal()
    store.put_key_usage(KeyUsage(principal=who, day=DAY), 0)
    results = race(4, lambda i: store.put_key_usage(KeyUsage(principal=who, day=DAY, tokens=i), 1))
    assert results.count(True) == 1 and results.count(False) == 3


@pytest.fixture
def handles(request: pytest.FixtureRequest, store: ExecutionStore, tmp_path: Path) -> Iterator[list[ExecutionStore]]:
    """The store and a second handle on the same data, as another process would open it."""
    kind = request.node.callspec.params["store"]
    if kind == "memory":
        yield [store, store]
        return
    other: SqliteExecutionStore | FirestoreExecutionStore = (
        SqliteExecutionStore(tmp_path / "wfx.db") if kind == "sqlite"  # the store fixture's file
        else FirestoreExecutionStore(emulators.firestore_client(), owns_client=True))
    yield [store, other]
    other.close()


def test_parallel_reservations_from_two_processes_never_grant_past_the_daily_limit(
        handles: list[ExecutionStore]) -> None:
    who = fresh_principal()
    ledgers = [KeyLedger(handles[i % 2], who, Budget(max_tokens=100)) for i in range(6)]

    def call(i: int) -> int:
        got = ledgers[i].reserve(10, 50, 16, None, hold_s=60.0)
        if isinstance(got, KeyBusy):
            return 0
        assert isinstance(got, KeyGrant) and got.max_tokens is not None
        ledgers[i].settle(got, Usage(prompt_tokens=10, completion_tokens=got.max_tokens))
        return 10 + got.max_tokens

    spent = race(6, call)
    assert all(isinstance(s, int) for s in spent)
    day = handles[0].key_usage(who, utc_day(time.time()))
    assert day is not None and day.tokens == sum(spent) <= 100 and not day.holds  # type: ignore[arg-type]
    busy = ledgers[0].reserve(10, 50, 16, None, hold_s=60.0)
    assert isinstance(busy, KeyBusy) and not busy.waiting and busy.error.code == "budget_exceeded"


def test_a_hold_of_a_runner_that_died_lapses(store: ExecutionStore) -> None:
    who = fresh_principal()
    ledger = KeyLedger(store, who, Budget(max_tokens=100))
    dead = ledger.reserve(10, 80, 16, None, hold_s=-1.0)  # already expired: its runner never settles
    assert isinstance(dead, KeyGrant) and dead.max_tokens == 80
    alive = ledger.reserve(10, 80, 16, None, hold_s=60.0)
    assert isinstance(alive, KeyGrant) and alive.max_tokens == 80  # the lapsed hold left room


def test_a_daily_cost_limit_caps_the_reply_by_its_price_and_cannot_hold_without_one(store: ExecutionStore) -> None:
    price = ModelPrice(0.15, 0.60)  # USD per 1M tokens
    ledger = KeyLedger(store, fresh_principal(), Budget(max_cost_usd=0.0001))
    got = ledger.reserve(100, None, 16, price, hold_s=60.0)
    # what is left after the prompt's $0.000015, in reply tokens at $0.0000006 each
    assert isinstance(got, KeyGrant) and got.max_tokens == int((0.0001 - 100 * 0.15e-6) / 0.6e-6)
    with pytest.raises(BudgetExceeded):
        ledger.reserve(100, None, 16, None, hold_s=60.0)
