"""Executors whose agent steps reach the test LLM server through the real openai client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import agent_settings
from llm_server import LLMServer
from workflow_executor.api import Executor


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def wfx(tmp_path: Path, llm: LLMServer) -> Iterator[Executor]:
    ex = Executor.local(settings=agent_settings(tmp_path, llm))
    yield ex
    ex.close()
