"""The embedded vector index of ``wfx serve`` (VectorIndex): documents and their embeddings in one
SQLite table, searched by cosine similarity computed here, over at most ``max_rows`` rows a search.

The operator fills it with ``load_documents`` (standard library only) or any SQLite tool, in this
layout (``embedding`` as little-endian float32 bytes, or as JSON array text)::

    CREATE TABLE vector_documents (
      dataset TEXT NOT NULL, table_name TEXT NOT NULL, document_id TEXT NOT NULL,
      content TEXT, url TEXT, title TEXT, metadata TEXT,   -- metadata: JSON text
      created_at TEXT,                                     -- ISO 8601
      embedding BLOB NOT NULL,
      PRIMARY KEY (dataset, table_name, document_id))
"""

from __future__ import annotations

import heapq
import json
import math
import operator
import sqlite3
import sys
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, NotFound

SCHEMA = """CREATE TABLE IF NOT EXISTS vector_documents (
  dataset TEXT NOT NULL, table_name TEXT NOT NULL, document_id TEXT NOT NULL,
  content TEXT, url TEXT, title TEXT, metadata TEXT, created_at TEXT,
  embedding BLOB NOT NULL,
  PRIMARY KEY (dataset, table_name, document_id))"""
_COLUMNS = ("document_id", "content", "url", "title", "metadata", "created_at")
_TYPES = {"document_id": "STRING", "content": "STRING", "url": "STRING", "title": "STRING",
          "embedding": "FLOAT64 REPEATED", "metadata": "STRING", "created_at": "TIMESTAMP"}


def load_documents(path: str | Path, dataset: str, table: str, documents: Iterable[Mapping[str, Any]]) -> int:
    """Add (or replace) ``documents`` in table ``dataset.table`` of the index at ``path``
    (created when missing). Each document has ``document_id``, ``embedding`` (numbers) and
    optionally ``content``, ``url``, ``title``, ``metadata`` (an object or JSON text) and
    ``created_at`` (ISO 8601). Returns how many were written. Errors: ValueError for a
    document without an id or embedding."""
    rows = []
    for doc in documents:
        vec = doc.get("embedding")
        if not doc.get("document_id") or not isinstance(vec, list | tuple) or not vec:
            raise ValueError("every document needs a document_id and a non-empty embedding")
        meta = doc.get("metadata")
        rows.append((dataset, table, str(doc["document_id"]), doc.get("content"), doc.get("url"), doc.get("title"),
                     meta if meta is None or isinstance(meta, str) else json.dumps(meta), doc.get("created_at"),
                     _pack([float(x) for x in vec])))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(SCHEMA)
            conn.executemany("INSERT OR REPLACE INTO vector_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        conn.close()
    return len(rows)


def _pack(vec: list[float]) -> bytes:
    arr = array("f", vec)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr.tobytes()


def _unpack(raw: Any) -> list[float]:
    if isinstance(raw, bytes | memoryview):
        arr = array("f")
        arr.frombytes(bytes(raw))
        if sys.byteorder != "little":
            arr.byteswap()
        return arr.tolist()
    vec = json.loads(raw)
    return [float(x) for x in vec]


def _norm(vec: list[float]) -> float:
    return math.sqrt(sum(map(operator.mul, vec, vec)))


class SqliteVectorIndex:
    """VectorIndex over the SQLite file ``path``, opened read-only for each call."""

    name = "embedded"

    def __init__(self, path: Path, max_rows: int = 20_000) -> None:
        self.path = path
        self.max_rows = max_rows

    def _connect(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise NotFound("the embedded vector index has no documents yet",
                           fix="the operator loads documents into WFX_VECTOR_INDEX "
                               "(workflow_executor.adapters.sqlite_vectors.load_documents)")
        conn = sqlite3.connect(self.path.as_uri() + "?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        conn = self._connect()
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise NotFound(f"the embedded vector index cannot be read ({exc})",
                           fix="create it with load_documents (the layout is in the README)") from None
        finally:
            conn.close()

    def tables(self, dataset: str) -> list[str]:
        rows = self._query("SELECT DISTINCT table_name FROM vector_documents WHERE dataset = ? ORDER BY 1",
                           (dataset,))
        return [r[0] for r in rows]

    def table_info(self, dataset: str, table: str) -> dict[str, Any]:
        row = self._query("SELECT COUNT(*), COALESCE(SUM(LENGTH(embedding) + COALESCE(LENGTH(content), 0)), 0), "
                          "MIN(created_at), MAX(created_at) FROM vector_documents "
                          "WHERE dataset = ? AND table_name = ?", (dataset, table))[0]
        if not row[0]:
            raise NotFound(f"table {dataset}.{table} is not in the embedded vector index",
                           fix="search a table the operator has loaded (list_datasets shows them)")
        return {"total_rows": row[0], "size_bytes": row[1], "created": row[2], "modified": row[3],
                "table_schema": [{"name": n, "type": t} for n, t in _TYPES.items()]}

    def search(self, dataset: str, table: str, vector: list[float], threshold: float,
               limit: int) -> dict[str, Any]:
        conn = self._connect()
        qn = _norm(vector)
        scored: list[tuple[float, int, dict[str, Any]]] = []
        scanned = 0
        truncated = False
        try:
            cur = conn.execute(f"SELECT {', '.join(_COLUMNS)}, embedding FROM vector_documents "
                               "WHERE dataset = ? AND table_name = ? ORDER BY document_id", (dataset, table))
            for row in cur:
                if scanned >= self.max_rows:
                    truncated = True  # the rest of the table is not looked at (WFX_VECTOR_MAX_ROWS)
                    break
                scanned += 1
                vec = _unpack(row["embedding"])
                if len(vec) != len(vector):
                    raise InvalidArgument(
                        f"the query embedding has {len(vector)} dimensions, the rows of {dataset}.{table} "
                        f"{len(vec)}", fix="embed queries with the model the table was built with "
                                           "(the tool's embedding_model, or WFX_EMBEDDING_MODEL)")
                vn = _norm(vec)
                sim = sum(map(operator.mul, vector, vec)) / (qn * vn) if qn and vn else 0.0
                if sim >= threshold:
                    scored.append((sim, -scanned, {k: row[k] for k in _COLUMNS}))
        finally:
            conn.close()
        if not scanned:
            self.table_info(dataset, table)  # raises NotFound for a table that is not there
        best = heapq.nlargest(limit, scored, key=lambda s: (s[0], s[1]))
        return {"results": [{**doc, "similarity": sim} for sim, _, doc in best],
                "scanned_rows": scanned, "truncated": truncated}

    def get(self, dataset: str, table: str, document_id: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {', '.join(_COLUMNS)} FROM vector_documents "
                           "WHERE dataset = ? AND table_name = ? AND document_id = ?", (dataset, table, document_id))
        return {k: rows[0][k] for k in _COLUMNS} if rows else None

    def sample(self, dataset: str, table: str, limit: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT document_id, title, url, LENGTH(content) AS content_length, created_at "
                           "FROM vector_documents WHERE dataset = ? AND table_name = ? "
                           "ORDER BY created_at DESC, document_id LIMIT ?", (dataset, table, limit))
        return [dict(r) for r in rows]
