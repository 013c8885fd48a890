"""Executors on every embedded backend, with the test functions allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from executors import make_executor
from workflow_executor.api import Executor


@pytest.fixture(params=["memory", "sqlite"])
def wfx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    ex = make_executor(tmp_path, request.param)
    yield ex
    ex.close()


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "calls.log")
