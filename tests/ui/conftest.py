"""Fixtures of the web view suite: in-process services with API keys (fast, for the HTTP
contract) and, for the browser tests, a real ``wfx serve`` with the same keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from ui_support import UiKeys, make_keys
from workflow_executor.api import Executor
from workflow_executor.settings import Settings

HERE = Path(__file__).parent


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[tuple[Executor, UiKeys]]:
    """A memory-backed executor whose key ring holds alice (run, read, cancel), bob (run, read),
    carol (read) and erin (run only), with this suite's workflows under its root."""
    settings = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_WORKFLOW_ROOTS": str(HERE / "workflows")})
    keys = make_keys(settings)
    with Executor.local(settings=replace(settings), memory=True) as ex:
        yield ex, keys
