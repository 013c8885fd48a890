"""``bigquery_vector_search`` (LangSwarm: ``mcpbigquery_vector_search``): similarity search over a
table of documents with embeddings, the query embedded through the operator's provider.

The backend (BigQuery, or the embedded index of ``wfx serve``) comes from ``ToolEnv.vectors``;
the tables from the operator's allow-list (``WFX_BQ_DATASETS``: ``dataset`` or ``dataset.table``).
A document names a dataset and table, never a project or a credential: a ``project_id`` in its
settings is ignored. Names are validated before anything reaches a backend; values are bound.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from pydantic import Field

from ...errors import InvalidArgument, NotFound, TableNotAllowed, ToolFailed
from ...ports import VectorIndex
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv, tool_setting

DATASET_RE = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
TABLE_RE = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
# LangSwarm's defaults (its DEFAULT_CONFIG): used where neither the tool nor the operator says
DEFAULT_TABLE = ("vector_search", "embeddings")
DEFAULT_THRESHOLD = 0.01
DEFAULT_LIMIT = 5
MAX_LIMIT = 100


class SearchArgs(ToolArgs):
    query: str = Field(..., min_length=1, max_length=8000, description="the text to find similar documents for")
    query_embedding: list[float] | None = Field(None, max_length=8192,
                                                description="the query's embedding, when you already have it")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="how many documents at most (default 5)")
    similarity_threshold: float | None = Field(None, ge=-1, le=1, description="least cosine similarity (0-1)")
    dataset_id: str | None = Field(None, description="dataset to search (default: the tool's)")
    table_name: str | None = Field(None, description="table to search (default: the tool's)")


class ListArgs(ToolArgs):
    pattern: str | None = Field(None, max_length=200, description="only datasets whose name contains this")


class ContentArgs(ToolArgs):
    document_id: str = Field(..., min_length=1, max_length=1024, description="the document's id")
    dataset_id: str | None = None
    table_name: str | None = None


class InfoArgs(ToolArgs):
    dataset_id: str = Field(..., description="the dataset")
    table_name: str | None = Field(None, description="the table (default: the tool's)")


class Tables:
    """The operator's allow-list: whole datasets and single tables."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.datasets = [e for e in entries if "." not in e]
        self.tables = [tuple(e.split(".", 1)) for e in entries if "." in e]

    def allows(self, dataset: str, table: str) -> bool:
        return dataset in self.datasets or (dataset, table) in self.tables

    def listed(self) -> list[str]:
        return [*self.datasets, *(f"{d}.{t}" for d, t in self.tables)]


def check_names(dataset: str, table: str) -> None:
    """Errors: InvalidArgument for a name BigQuery would not take (and SQL must never see)."""
    if not DATASET_RE.match(dataset):
        raise InvalidArgument(f"dataset_id '{dataset[:80]}' is not a dataset name",
                              fix="use letters, digits and '_' only", field="dataset_id")
    if not TABLE_RE.match(table):
        raise InvalidArgument(f"table_name '{table[:80]}' is not a table name",
                              fix="use letters, digits, '_' and '-' only", field="table_name")


def _default_table(tool: Tool, entries: tuple[str, ...]) -> tuple[str, str]:
    """The tool's dataset_id / table_name, else the operator's first allowed entry, else LangSwarm's."""
    first = entries[0].split(".", 1) if entries else list(DEFAULT_TABLE)
    dataset = tool_setting(tool, "dataset_id") or first[0]
    table = tool_setting(tool, "table_name") or (first[1] if len(first) > 1 else DEFAULT_TABLE[1])
    return str(dataset), str(table)


def _check(tool: Tool, env: ToolEnv) -> str | None:
    if tool_setting(tool, "dataset_id") is None and tool_setting(tool, "table_name") is None:
        return None
    allowed = Tables(env.settings.bq_datasets)
    dataset, table = _default_table(tool, env.settings.bq_datasets)
    try:
        check_names(dataset, table)
    except InvalidArgument as exc:
        return f"tool '{tool.id}': {exc.message} ({exc.fix})"
    if not allowed.allows(dataset, table):
        return (f"tool '{tool.id}' names table {dataset}.{table}, which the operator has not allowed "
                f"(allowed: {', '.join(allowed.listed()) or 'none'}; the operator sets WFX_BQ_DATASETS)")
    return None


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("metadata")
    if isinstance(meta, str):
        with contextlib.suppress(ValueError):  # LangSwarm keeps metadata that is not JSON as text
            row["metadata"] = json.loads(meta)
    return row


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    settings = env.settings
    allowed = Tables(settings.bq_datasets)
    default = _default_table(tool, settings.bq_datasets)
    model = str(tool_setting(tool, "embedding_model") or settings.embedding_model)
    provider = tool_setting(tool, "provider") or settings.embedding_provider
    threshold = float(tool_setting(tool, "similarity_threshold",
                                   tool_setting(tool, "default_similarity_threshold", DEFAULT_THRESHOLD)))
    max_results = min(int(tool_setting(tool, "max_results", DEFAULT_LIMIT)), MAX_LIMIT)

    def backend() -> VectorIndex:
        if env.vectors is None:
            raise ToolFailed("this server has no vector backend", fix="run the tool through wfx (services.build)")
        return env.vectors()

    def table_of(dataset: str | None, table: str | None) -> tuple[str, str]:
        d, t = dataset or default[0], table or default[1]
        check_names(d, t)
        if not allowed.allows(d, t):
            listed = ", ".join(allowed.listed()) or "none (the operator sets WFX_BQ_DATASETS)"
            raise TableNotAllowed(f"table {d}.{t} is not on the operator's allow-list",
                                  fix=f"use one of: {listed}", field="table_name")
        return d, t

    def similarity_search(a: SearchArgs, ctx: ToolCall) -> Any:
        d, t = table_of(a.dataset_id, a.table_name)
        if a.query_embedding is not None:
            vector = list(a.query_embedding)
        else:
            if env.embed is None:
                raise ToolFailed("this server cannot embed queries", fix="run the tool through wfx (services.build)")
            got = env.embed(str(provider) if provider else None, model, [a.query])
            ctx.spend(got.usage)  # counted in the step's usage like an agent's turns
            vector = got.vectors[0]
        found = backend().search(d, t, vector, a.similarity_threshold if a.similarity_threshold is not None
                                 else threshold, a.limit or max_results)
        results = [_metadata(r) for r in found.pop("results")]
        return {"success": True, "query": a.query, "results": results, "total_results": len(results),
                "dataset": f"{d}.{t}", **found}

    def list_datasets(a: ListArgs, ctx: ToolCall) -> Any:
        vx = backend()
        wanted = (a.pattern or "").lower()
        out: dict[str, list[dict[str, Any]]] = {}
        for d in allowed.datasets:
            if wanted in d.lower():
                out.setdefault(d, []).extend({"table_name": t} for t in vx.tables(d))
        for d, t in allowed.tables:
            if wanted in d.lower() and all(x["table_name"] != t for x in out.get(d, [])):
                out.setdefault(d, []).append({"table_name": t})
        datasets = []
        for d, tables in out.items():
            for entry in tables:
                try:
                    info = vx.table_info(d, entry["table_name"])
                except NotFound:
                    continue
                entry.update(rows=info["total_rows"], created=info["created"])
            kept = [e for e in tables if "rows" in e]
            if kept:
                datasets.append({"dataset_id": d, "tables": kept, "backend": vx.name})
        return {"success": True, "datasets": datasets, "total_datasets": len(datasets)}

    def get_content(a: ContentArgs, ctx: ToolCall) -> Any:
        d, t = table_of(a.dataset_id, a.table_name)
        row = backend().get(d, t, a.document_id)
        if row is None:
            raise NotFound(f"no document '{a.document_id[:100]}' in {d}.{t}",
                           fix="use a document_id from similarity_search results")
        return {"success": True, "result": _metadata(row)}

    def dataset_info(a: InfoArgs, ctx: ToolCall) -> Any:
        d, t = table_of(a.dataset_id, a.table_name)
        vx = backend()
        info = vx.table_info(d, t)
        return {"success": True, "dataset_id": d, "table_name": t, **info,
                "sample_documents": vx.sample(d, t, 10)}

    where = ", ".join(allowed.listed()) or "none allowed"
    return [
        Operation("similarity_search", f"Find the documents most similar in meaning to a query (tables: {where}).",
                  SearchArgs, similarity_search),
        Operation("list_datasets", "List the datasets and tables that can be searched.", ListArgs, list_datasets),
        Operation("get_content", "Get a document's full content by its document_id.", ContentArgs, get_content),
        Operation("dataset_info", "Rows, size, schema and sample documents of a table.", InfoArgs, dataset_info),
    ]


KIND = OperationsKind("bigquery_vector_search",
                      "similarity search over allowed tables of embeddings (BigQuery, or the embedded index)",
                      _operations, aliases=("mcpbigquery_vector_search", "vector_search"), check=_check)
