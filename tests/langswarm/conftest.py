"""An executor for LangSwarm-shaped documents: embedded (memory), the corpus functions allowed,
and agent steps run by the product's agent runner (the real ``openai`` client) against the local
test LLM server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.settings import Settings


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def wfx(tmp_path: Path, llm: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Executor]:
    (tmp_path / "files").mkdir()
    # the filesystem tool the corpus names is opened as an operator would (validation refuses a
    # used tool that can reach nothing)
    env = {"WFX_HOME": str(tmp_path / "home"), "WFX_FILES_ROOT": str(tmp_path / "files"),
           "WFX_FS_ROOTS": f"files={tmp_path / 'files'}",
           "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm.base_url, "WFX_MODEL": "test-model"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = replace(Settings.from_env(env), store="memory", function_modules=("ls_fns",))
    ex = Executor.local(settings=s, memory=True)
    assert ex.engine.agents is not None  # the product's openai-client runner, pointed at the test server
    yield ex
    ex.close()
