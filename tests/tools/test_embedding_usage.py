"""Usage is counted in one place: the tokens and cost of ``bigquery_vector_search``'s query
embeddings (the real ``openai`` client against the test server's ``/v1/embeddings``, which
reports ``prompt_tokens``) land in the step's and the execution's usage, beside an agent's own
turns, priced from the same tables."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_replies import hashed_embedding
from llm_server import LLMServer
from tools_support import executor
from workflow_executor.adapters.sqlite_vectors import load_documents
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_llm import DEFAULT_PRICES

QUERY = "what is the refund policy for orders"
EMBED_TOKENS = math.ceil(len(QUERY) / 4)  # the test server counts about four characters a token
EMBED_PRICE = DEFAULT_PRICES["text-embedding-3-small"]
TOOLS = [{"id": "kb", "type": "mcpbigquery_vector_search"}]


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, llm: LLMServer) -> dict[str, str]:
    index = tmp_path / "vectors.db"
    load_documents(index, "kb", "docs", [{"document_id": "refunds", "content": "refunds within 30 days",
                                          "embedding": hashed_embedding("refunds within 30 days")}])
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini",
            "WFX_BQ_DATASETS": "kb.docs", "WFX_VECTOR_INDEX": str(index)}


def test_a_search_steps_query_embedding_is_its_usage_and_the_executions(
        tmp_path: Path, env: dict[str, str], llm: LLMServer) -> None:
    doc = {"tools": TOOLS, "workflows": {"w": {"steps": [
        {"id": "s", "tool": "kb", "params": {"method": "similarity_search", "query": QUERY}},
        {"id": "given", "tool": "kb", "params": {"method": "similarity_search", "query": QUERY,
                                                 "query_embedding": hashed_embedding(QUERY)}}]}}}
    with executor(tmp_path, env, memory=False) as wfx:
        done = wfx.run(workflow=doc)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert len(llm.embedding_requests) == 1
    usage = done.steps["s"].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (EMBED_TOKENS, 0)
    assert usage.cost_usd == pytest.approx(EMBED_PRICE.cost(EMBED_TOKENS, 0)) and usage.cost_usd > 0
    given = done.steps["given"].usage  # no embedding made: no tokens, no cost
    assert given is not None and (given.prompt_tokens, given.cost_usd) == (0, 0.0)
    assert (done.usage.prompt_tokens, done.usage.cost_usd) == (usage.prompt_tokens, pytest.approx(usage.cost_usd))


def test_an_agents_search_adds_its_embedding_to_the_agents_turns(
        tmp_path: Path, env: dict[str, str], llm: LLMServer) -> None:
    llm.script({"tool_calls": [{"name": "kb__similarity_search", "arguments": {"query": QUERY}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10}},
               {"text": "within 30 days", "usage": {"prompt_tokens": 200, "completion_tokens": 20}})
    doc = {"tools": TOOLS, "agents": [{"id": "a", "model": "gpt-4o-mini", "tools": ["kb"]}],
           "workflows": {"w": {"steps": [{"id": "ask", "agent": "a", "input": "${user_input}"}]}}}
    with executor(tmp_path, env, memory=False) as wfx:
        done = wfx.run(workflow=doc, input="refunds?")
        again = wfx.status(done.id)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert len(llm.embedding_requests) == 1
    usage = again.steps["ask"].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (300 + EMBED_TOKENS, 30)
    want = DEFAULT_PRICES["gpt-4o-mini"].cost(300, 30) + EMBED_PRICE.cost(EMBED_TOKENS, 0)
    assert usage.cost_usd == pytest.approx(want)
    assert (again.usage.prompt_tokens, again.usage.completion_tokens) == (300 + EMBED_TOKENS, 30)
    assert again.usage.cost_usd == pytest.approx(want)
