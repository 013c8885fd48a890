"""``bigquery_vector_search``: similarity search with the query embedded by the real ``openai``
client (against the test LLM server's ``/v1/embeddings``), on both backends: BigQuery through the
official client against the ``bqemulator`` emulator, and the embedded SQLite index. Then its
sandbox: tables off the operator's list, names that try SQL, values that try SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_replies import hashed_embedding
from llm_server import LLMServer
from tools_support import executor
from workflow_executor.adapters.sqlite_vectors import load_documents
from workflow_executor.errors import SpecError
from workflow_executor.models import Execution, ExecutionStatus

from emulators.bigquery import start_bigquery

PROJECT = "wfx-test"
DOCS = [
    {"document_id": "refunds", "title": "Refunds", "url": "https://docs.example/refunds",
     "content": "refund policy: orders can be refunded within 30 days", "metadata": {"section": "billing"},
     "created_at": "2024-01-03T00:00:00+00:00"},
    {"document_id": "auth", "title": "API auth", "url": "https://docs.example/auth",
     "content": "api authentication uses bearer tokens", "metadata": None,
     "created_at": "2024-01-02T00:00:00+00:00"},
    {"document_id": "pricing", "title": "Pricing", "url": "https://docs.example/pricing",
     "content": "pricing plans for teams and enterprises", "metadata": {"section": "sales"},
     "created_at": "2024-01-01T00:00:00+00:00"},
]
SECRET = [{"document_id": "s1", "title": "salaries", "url": "", "content": "everyone's salary", "metadata": None,
           "created_at": "2024-01-01T00:00:00+00:00"}]
BACKENDS = ["embedded", "bigquery"]


def _rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**d, "embedding": hashed_embedding(d["content"])} for d in docs]


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator, filled through the official client: kb.docs and private.secrets. Yields its URL."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    emu = start_bigquery(PROJECT, log_dir=tmp_path_factory.mktemp("bq"))
    try:
        client = bq.Client(project=PROJECT, credentials=AnonymousCredentials(),
                           client_options=ClientOptions(api_endpoint=emu.url))
        schema = [bq.SchemaField("document_id", "STRING"), bq.SchemaField("content", "STRING"),
                  bq.SchemaField("url", "STRING"), bq.SchemaField("title", "STRING"),
                  bq.SchemaField("embedding", "FLOAT64", mode="REPEATED"), bq.SchemaField("metadata", "STRING"),
                  bq.SchemaField("created_at", "TIMESTAMP")]
        for dataset, table, docs in (("kb", "docs", DOCS), ("private", "secrets", SECRET)):
            client.create_dataset(dataset)
            client.create_table(bq.Table(f"{PROJECT}.{dataset}.{table}", schema=schema))
            rows = [{**r, "metadata": json.dumps(r["metadata"]) if r["metadata"] else None} for r in _rows(docs)]
            assert client.insert_rows_json(f"{PROJECT}.{dataset}.{table}", rows) == []
        client.close()
        yield emu.url
    finally:
        emu.stop()


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path, llm: LLMServer) -> dict[str, str]:
    """The operator's settings for the backend of the test's parameter: table kb.docs is allowed."""
    base = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini",
            "WFX_BQ_DATASETS": "kb.docs"}
    if request.param == "bigquery":
        return {**base, "WFX_BQ_PROJECT": PROJECT, "WFX_BQ_ENDPOINT": request.getfixturevalue("bigquery")}
    index = tmp_path / "vectors.db"
    load_documents(index, "kb", "docs", _rows(DOCS))
    load_documents(index, "private", "secrets", _rows(SECRET))
    return {**base, "WFX_VECTOR_INDEX": str(index)}


def _run(tmp: Path, env: dict[str, str], *steps: dict[str, Any], tool: dict[str, Any] | None = None) -> Execution:
    doc = {"tools": [{"id": "kb", "type": "mcpbigquery_vector_search", **(tool or {})}],
           "workflows": {"w": {"steps": list(steps)}}}
    with executor(tmp, env) as wfx:
        return wfx.run(workflow=doc, input="")


def _search(**params: Any) -> dict[str, Any]:
    return {"id": "s", "tool": "kb", "params": {"method": "similarity_search", **params}}


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_a_query_finds_the_most_similar_documents_embedded_by_the_operators_provider(
        tmp_path: Path, env: dict[str, str], llm: LLMServer) -> None:
    llm.reset()
    done = _run(tmp_path, env, _search(query="what is the refund policy for orders", limit=2))
    assert done.status == ExecutionStatus.COMPLETED, done.error
    out = done.steps["s"].output
    assert out["success"] is True and out["dataset"] == "kb.docs"
    assert out["results"][0]["document_id"] == "refunds"
    assert out["total_results"] == len(out["results"]) <= 2
    top = out["results"][0]
    assert top["metadata"] == {"section": "billing"} and top["url"] == "https://docs.example/refunds"
    assert "embedding" not in top
    want = sum(a * b for a, b in zip(hashed_embedding("what is the refund policy for orders"),
                                     hashed_embedding(DOCS[0]["content"]), strict=True))
    assert top["similarity"] == pytest.approx(want, abs=1e-5)
    assert [r["input"] for r in llm.embedding_requests] == [["what is the refund policy for orders"]]
    assert llm.embedding_requests[0]["model"] == "text-embedding-3-small"


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_content_info_and_the_list_of_tables_come_from_the_backend(tmp_path: Path, env: dict[str, str]) -> None:
    done = _run(tmp_path, {**env, "WFX_BQ_DATASETS": "kb"},  # the whole dataset
                {"id": "get", "tool": "kb", "params": {"method": "get_content", "document_id": "auth"}},
                {"id": "info", "tool": "kb", "params": {"method": "dataset_info", "dataset_id": "kb",
                                                        "table_name": "docs"}},
                {"id": "list", "tool": "kb", "params": {"method": "list_datasets"}},
                tool={"settings": {"dataset_id": "kb", "table_name": "docs"}})
    assert done.status == ExecutionStatus.COMPLETED, done.error
    got = done.steps["get"].output["result"]
    assert (got["document_id"], got["title"], got["metadata"]) == ("auth", "API auth", None)
    info = done.steps["info"].output
    assert info["total_rows"] == 3
    assert {"document_id", "embedding", "content"} <= {f["name"] for f in info["table_schema"]}
    assert [d["document_id"] for d in info["sample_documents"]] == ["refunds", "auth", "pricing"]
    assert info["sample_documents"][0]["content_length"] == len(DOCS[0]["content"])
    listed = done.steps["list"].output
    assert [(d["dataset_id"], [t["table_name"] for t in d["tables"]]) for d in listed["datasets"]] == [
        ("kb", ["docs"])]  # private.secrets exists but is not on the list
    assert listed["datasets"][0]["tables"][0]["rows"] == 3


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_a_table_off_the_allow_list_is_refused_before_any_embedding_is_paid_for(
        tmp_path: Path, env: dict[str, str], llm: LLMServer) -> None:
    llm.reset()
    for step in (_search(query="salary", dataset_id="private", table_name="secrets"),
                 {"id": "s", "tool": "kb", "params": {"method": "get_content", "document_id": "s1",
                                                      "dataset_id": "private", "table_name": "secrets"}},
                 {"id": "s", "tool": "kb", "params": {"method": "dataset_info", "dataset_id": "private"}}):
        done = _run(tmp_path, env, step)
        assert done.status == ExecutionStatus.FAILED
        assert done.error is not None and done.error.code == "table_not_allowed", done.error
    assert llm.embedding_requests == []


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
@pytest.mark.parametrize("dataset, table", [
    ("kb`.`docs` UNION ALL SELECT * FROM `private`.`secrets` --", "docs"),
    ("kb", "docs` WHERE 1=1; DROP TABLE `kb.docs"),
    ("kb.docs", "docs"),
    ("../kb", "docs"),
])
def test_names_that_carry_sql_are_refused_as_invalid(tmp_path: Path, env: dict[str, str], dataset: str,
                                                     table: str) -> None:
    done = _run(tmp_path, env, _search(query="x", dataset_id=dataset, table_name=table))
    assert done.error is not None and done.error.code == "invalid_argument", done.error


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_values_are_bound_so_an_id_that_carries_sql_matches_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    done = _run(tmp_path, env, {"id": "s", "tool": "kb", "params": {"method": "get_content",
                                                                    "document_id": "x' OR '1'='1"}})
    assert done.error is not None and done.error.code == "not_found", done.error


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_a_query_embedding_of_another_dimension_is_an_invalid_argument(tmp_path: Path, env: dict[str, str]) -> None:
    done = _run(tmp_path, env, _search(query="x", query_embedding=[0.1, 0.2, 0.3]))
    assert done.error is not None and done.error.code == "invalid_argument", done.error


@pytest.mark.parametrize("env", ["bigquery"], indirect=True)
def test_a_documents_project_id_is_ignored_the_project_is_the_operators(tmp_path: Path, env: dict[str, str]) -> None:
    done = _run(tmp_path, env, _search(query="pricing plans"),
                tool={"settings": {"project_id": "someone-elses-project", "dataset_id": "kb", "table_name": "docs"}})
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.steps["s"].output["results"][0]["document_id"] == "pricing"


@pytest.mark.parametrize("env", ["embedded"], indirect=True)
def test_a_tool_naming_a_table_off_the_list_is_a_validation_error(tmp_path: Path, env: dict[str, str]) -> None:
    doc = {"tools": [{"id": "kb", "type": "mcpbigquery_vector_search",
                      "settings": {"dataset_id": "private", "table_name": "secrets"}}],
           "workflows": {"w": {"steps": [_search(query="x")]}}}
    with executor(tmp_path, env) as wfx, pytest.raises(SpecError) as err:
        wfx.register(doc)
    assert err.value.issues[0].path == "tools.kb.type"
    assert "WFX_BQ_DATASETS" in err.value.issues[0].message


@pytest.mark.parametrize("env", ["embedded"], indirect=True)
def test_the_embedded_scan_stops_at_the_operators_row_limit_and_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    done = _run(tmp_path, {**env, "WFX_VECTOR_MAX_ROWS": "2"}, _search(query="refund policy", limit=5))
    out = done.steps["s"].output
    assert (out["scanned_rows"], out["truncated"]) == (2, True)
    # rows are scanned in document_id order: 'refunds', the third, was never looked at
    assert "refunds" not in [r["document_id"] for r in out["results"]]


@pytest.mark.parametrize("env", ["embedded"], indirect=True)
def test_an_agent_searches_through_the_tool_as_a_function(tmp_path: Path, env: dict[str, str],
                                                          llm: LLMServer) -> None:
    llm.reset()
    llm.script({"tool_calls": [{"name": "kb__similarity_search",
                                "arguments": {"query": "bearer tokens for the api", "limit": 1}}]},
               "Use bearer tokens.")
    doc = {"agents": [{"id": "helper", "agent_type": "openai", "tools": ["kb"]}],
           "tools": [{"id": "kb", "type": "mcpbigquery_vector_search"}],
           "workflows": {"w": {"steps": [{"id": "ask", "agent": "helper", "input": "${user_input}",
                                          "output": {"to": "user"}}]}}}
    with executor(tmp_path, env) as wfx:
        done = wfx.run(workflow=doc, input="how do I authenticate?")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == "Use bearer tokens."
    offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
    assert offered == {"kb__similarity_search", "kb__list_datasets", "kb__get_content", "kb__dataset_info"}
    tool_msg = next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")
    assert [r["document_id"] for r in json.loads(tool_msg["content"])["results"]] == ["auth"]


def test_the_test_servers_embeddings_reach_the_real_client_in_both_encodings(llm: LLMServer) -> None:
    import openai

    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    try:
        floats = client.embeddings.create(model="m", input=["a b", "c"], encoding_format="float")
        packed = client.embeddings.create(model="m", input="a b")  # the client asks for base64 itself
    finally:
        client.close()
    assert [d.embedding for d in floats.data] == [hashed_embedding("a b"), hashed_embedding("c")]
    assert packed.data[0].embedding == pytest.approx(hashed_embedding("a b"), abs=1e-6)


@pytest.mark.parametrize("env", ["embedded"], indirect=True)
def test_langswarms_mcp_call_to_the_local_tool_answers_with_success_as_its_workflows_expect(
        tmp_path: Path, env: dict[str, str]) -> None:
    # the shape of LangSwarm's own bigquery_vector_search/workflows.yaml: execute_search, then a
    # condition on ${execute_search.success}
    call = {"id": "execute_search", "function": "langswarm.core.utils.workflows.functions.mcp_call",
            "args": {"mcp_url": "local://kb", "payload": {"name": "similarity_search",
                                                          "arguments": {"query": "team pricing plans"}}},
            "output": {"to": [{"condition": {"if": "${context.step_outputs.execute_search.success} == True",
                                             "then": "ok", "else": "bad"}}]}}
    done = _run(tmp_path, env, call,
                {"id": "ok", "function": "builtins.echo", "args": {"value": "found"}, "output": {"to": "user"}},
                {"id": "bad", "function": "builtins.echo", "args": {"value": "failed"}, "output": {"to": "user"}})
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == "found"
    assert "pricing" in json.dumps(done.steps["execute_search"].output)


def test_an_index_row_with_its_embedding_as_json_text_is_searched_like_packed_floats(tmp_path: Path) -> None:
    import sqlite3

    from workflow_executor.adapters.sqlite_vectors import SCHEMA, SqliteVectorIndex

    index = tmp_path / "v.db"
    load_documents(index, "kb", "docs", [{"document_id": "a", "embedding": [1.0, 0.0]}])
    with sqlite3.connect(index) as conn:  # what an operator writes with any SQLite tool
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO vector_documents (dataset, table_name, document_id, content, embedding) "
                     "VALUES ('kb', 'docs', 'b', 'by hand', '[0.6, 0.8]')")
    conn.close()
    found = SqliteVectorIndex(index).search("kb", "docs", [0.0, 1.0], 0.0, 5)
    assert [(r["document_id"], round(r["similarity"], 6)) for r in found["results"]] == [("b", 0.8), ("a", 0.0)]


def test_an_endpoint_refusing_the_key_is_a_model_auth_error_with_no_key_in_it(tmp_path: Path) -> None:
    from workflow_executor.agents.embeddings import Embedder
    from workflow_executor.errors import ModelAuthFailed
    from workflow_executor.settings import Settings

    with LLMServer(api_key="the-right-key") as server:
        embed = Embedder(Settings.from_env({"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-wrong-1"}))
        try:
            with pytest.raises(ModelAuthFailed) as err:
                embed(None, "text-embedding-3-small", ["hello"])
        finally:
            embed.close()
    assert err.value.code == "model_auth_failed"
    assert "sk-wrong-1" not in str(err.value.to_dict())


@pytest.mark.parametrize("env, wanted", [
    ({}, ("embedded", None)),
    ({"WFX_BQ_PROJECT": "p-1", "WFX_BQ_DATASETS": "kb, kb2.docs"}, ("bigquery", "p-1")),
    ({"WFX_GCP_PROJECT": "p-2"}, ("embedded", "p-2")),  # the project alone does not pick BigQuery
    ({"WFX_GCP_PROJECT": "p-2", "WFX_VECTOR_BACKEND": "bigquery"}, ("bigquery", "p-2")),
])
def test_the_backend_is_bigquery_only_when_the_operator_says_so(env: dict[str, str],
                                                                wanted: tuple[str, str | None]) -> None:
    from workflow_executor.settings import Settings

    tools = Settings.from_env(env).tools
    assert (tools.vector_backend, tools.bq_project) == wanted


@pytest.mark.parametrize("env", [{"WFX_VECTOR_BACKEND": "pinecone"}, {"WFX_VECTOR_BACKEND": "bigquery"}])
def test_a_backend_that_cannot_work_is_a_settings_error(env: dict[str, str]) -> None:
    from workflow_executor.errors import InvalidArgument
    from workflow_executor.settings import Settings

    with pytest.raises(InvalidArgument):
        Settings.from_env(env)


@pytest.mark.parametrize("env", ["embedded"], indirect=True)
def test_environment_references_in_the_tools_config_are_read_as_their_defaults_never_from_the_environment(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """LangSwarm's ``"${BIGQUERY_DATASET_ID:-vector_search}"``: the default, with a warning; the
    server's own environment (here pointing at the private table) is never read by a document."""
    monkeypatch.setenv("KB_DATASET", "private")
    monkeypatch.setenv("KB_TABLE", "secrets")
    tool = {"config": {"dataset_id": "${KB_DATASET:-kb}", "table_name": "${KB_TABLE:-docs}",
                       "project_id": "${GOOGLE_CLOUD_PROJECT}"}}
    done = _run(tmp_path, env, _search(query="pricing plans"), tool=tool)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.steps["s"].output["dataset"] == "kb.docs"
    assert done.steps["s"].output["results"][0]["document_id"] == "pricing"
    doc = {"tools": [{"id": "kb", "type": "mcpbigquery_vector_search", **tool}],
           "workflows": {"w": {"steps": [_search(query="x")]}}}
    with executor(tmp_path, env) as wfx:
        _, report = wfx.check(doc)
    said = {w.path: w.message for w in report.warnings if w.path.startswith("tools.kb.")}
    assert set(said) == {"tools.kb.config.dataset_id", "tools.kb.config.table_name", "tools.kb.config.project_id"}
    assert "its default 'kb'" in said["tools.kb.config.dataset_id"]
    assert "the tool's default holds" in said["tools.kb.config.project_id"]
