"""Fixtures for the port contract suites: every adapter runs the same tests.

To add a backend, add one factory to ``STORE_FACTORIES`` / ``REGISTRY_FACTORIES`` (a session-scoped
emulator is fine: the tests isolate by fresh ids and never assume an empty store).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from workflow_executor.adapters.firestore_registry import FirestoreWorkflowRegistry
from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
from workflow_executor.adapters.memory import MemoryExecutionStore, MemoryWorkflowRegistry
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.adapters.sqlite_registry import SqliteWorkflowRegistry
from workflow_executor.models import Execution
from workflow_executor.ports import ExecutionStore, WorkflowRegistry

from emulators import session as emulators

STORE_FACTORIES: dict[str, Callable[[Path], ExecutionStore]] = {
    "memory": lambda tmp: MemoryExecutionStore(),
    "sqlite": lambda tmp: SqliteExecutionStore(tmp / "wfx.db"),
    "firestore": lambda tmp: FirestoreExecutionStore(emulators.firestore_client(), owns_client=True),
}
REGISTRY_FACTORIES: dict[str, Callable[[Path], WorkflowRegistry]] = {
    "memory": lambda tmp: MemoryWorkflowRegistry(),
    "sqlite": lambda tmp: SqliteWorkflowRegistry(tmp / "wfx.db"),
    "firestore": lambda tmp: FirestoreWorkflowRegistry(emulators.firestore_client(), owns_client=True),
}


@pytest.fixture(scope="session", autouse=True)
def _stop_emulators() -> Iterator[None]:
    """The Firestore emulator starts on first use and stops at the end of the session."""
    yield
    emulators.stop_all()


def _closing(obj: Any) -> Iterator[Any]:
    yield obj
    close = getattr(obj, "close", None)
    if close is not None:
        close()


@pytest.fixture(params=list(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutionStore]:
    yield from _closing(STORE_FACTORIES[request.param](tmp_path))


@pytest.fixture(params=list(REGISTRY_FACTORIES))
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowRegistry]:
    yield from _closing(REGISTRY_FACTORIES[request.param](tmp_path))


def fresh_id(prefix: str = "ex") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def make_execution() -> Callable[..., Execution]:
    """Factory of queued executions with fresh ids; keyword arguments override the defaults."""
    return new_execution


def new_execution(**fields: Any) -> Execution:
    defaults: dict[str, Any] = {
        "id": fresh_id(),
        "workflow_name": "wf",
        "workflow_hash": "h1",
        "input": {"q": "hello"},
        "created_at_s": 1000.0,
        "updated_at_s": 1000.0,
    }
    return Execution(**{**defaults, **fields})
