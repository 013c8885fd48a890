"""BigQuery as a VectorIndex, through the official ``google-cloud-bigquery`` client (imported here,
lazily). Similarity is computed in BigQuery (``COSINE_DISTANCE`` over the ``embedding`` column),
with the query vector, threshold, limit and ids bound as query parameters; names reach the SQL
only after the tool validated and allow-listed them, and are checked again here.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import decimal
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import InvalidArgument, NotFound, ToolFailed, Transient

T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
_PROJECT = re.compile(r"^[A-Za-z0-9.:_-]{1,128}$")


def _short(text: Any, limit: int = 300) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class BigQueryVectorIndex:
    """VectorIndex over tables of the operator's project. ``endpoint`` (an emulator's URL)
    connects without credentials; otherwise the client uses Application Default Credentials."""

    name = "bigquery"

    def __init__(self, project: str, *, location: str | None = None, endpoint: str | None = None,
                 timeout_s: float = 30.0) -> None:
        try:
            from google.api_core.client_options import ClientOptions
            from google.cloud import bigquery
        except ImportError:
            raise ToolFailed("the BigQuery client library is not installed on this server",
                             fix="install workflow-executor[gcp] (google-cloud-bigquery), or unset "
                                 "WFX_BQ_PROJECT to use the embedded index") from None
        if not _PROJECT.match(project):
            raise InvalidArgument(f"the BigQuery project {project!r} is not a project id",
                                  fix="set WFX_BQ_PROJECT to the project's id")
        self.project = project
        self.timeout_s = timeout_s
        self._bq = bigquery
        if endpoint:
            from google.auth.credentials import AnonymousCredentials

            anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
            self.client = bigquery.Client(project=project, location=location, credentials=anonymous,
                                          client_options=ClientOptions(api_endpoint=endpoint))
        else:
            self.client = bigquery.Client(project=project, location=location)

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]

    def _table(self, dataset: str, table: str) -> str:
        if not (_NAME.match(dataset) and _NAME.match(table)):  # the tool checked; never trust one layer
            raise InvalidArgument(f"'{dataset[:80]}.{table[:80]}' is not a valid table name",
                                  fix="use letters, digits, '_' and '-' only")
        return f"`{self.project}`.`{dataset}`.`{table}`"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()`` with BigQuery's errors mapped to ours (the service's text is cut short)."""
        from google.api_core import exceptions as gexc

        try:
            return fn()
        except gexc.NotFound:
            raise NotFound(f"{what} was not found in BigQuery",
                           fix="use a dataset and table that exist (list_datasets shows them)") from None
        except gexc.BadRequest as exc:
            raise InvalidArgument(f"BigQuery refused the query on {what}: {_short(exc.message)}",
                                  fix="check that the table has LangSwarm's columns (document_id, content, "
                                      "embedding ...) and that queries use the table's embedding model") from None
        except gexc.Forbidden as exc:
            raise ToolFailed(f"BigQuery denied access to {what}: {_short(exc.message)}",
                             fix="the operator grants the server's account BigQuery Data Viewer and Job User") from None
        except (gexc.TooManyRequests, gexc.ServerError, concurrent.futures.TimeoutError) as exc:
            raise Transient(f"BigQuery did not answer for {what} ({type(exc).__name__})",
                            fix="retry later") from None
        except gexc.GoogleAPICallError as exc:
            raise ToolFailed(f"BigQuery failed on {what}: {_short(exc.message)}", fix="retry later") from None

    def _rows(self, sql: str, params: list[Any]) -> tuple[list[dict[str, Any]], int | None]:
        cfg = self._bq.QueryJobConfig(query_parameters=params, job_timeout_ms=int(self.timeout_s * 1000))
        job = self.client.query(sql, job_config=cfg, timeout=self.timeout_s)
        rows = [{k: _plain(v) for k, v in dict(r).items()} for r in job.result(timeout=self.timeout_s)]
        return rows, job.total_bytes_processed

    def tables(self, dataset: str) -> list[str]:
        def run() -> list[str]:
            names = []
            for item in self.client.list_tables(f"{self.project}.{dataset}", timeout=self.timeout_s):
                table = self.client.get_table(item.reference, timeout=self.timeout_s)
                if any(f.name == "embedding" for f in table.schema):
                    names.append(item.table_id)
            return sorted(names)

        try:
            return self._call(f"dataset {dataset}", run)
        except NotFound:
            return []

    def table_info(self, dataset: str, table: str) -> dict[str, Any]:
        self._table(dataset, table)
        t = self._call(f"table {dataset}.{table}",
                       lambda: self.client.get_table(f"{self.project}.{dataset}.{table}", timeout=self.timeout_s))
        return {"total_rows": t.num_rows, "size_bytes": t.num_bytes, "created": _plain(t.created),
                "modified": _plain(t.modified),
                "table_schema": [{"name": f.name, "type": f.field_type + (" REPEATED" if f.mode == "REPEATED" else "")}
                                 for f in t.schema]}

    def search(self, dataset: str, table: str, vector: list[float], threshold: float,
               limit: int) -> dict[str, Any]:
        sql = (f"SELECT * EXCEPT (`embedding`), 1 - COSINE_DISTANCE(`embedding`, @query_vector) AS similarity "
               f"FROM (SELECT * FROM {self._table(dataset, table)} WHERE ARRAY_LENGTH(`embedding`) > 0) "
               "WHERE 1 - COSINE_DISTANCE(`embedding`, @query_vector) >= @threshold "
               "ORDER BY similarity DESC LIMIT @limit")
        params = [self._bq.ArrayQueryParameter("query_vector", "FLOAT64", vector),
                  self._bq.ScalarQueryParameter("threshold", "FLOAT64", threshold),
                  self._bq.ScalarQueryParameter("limit", "INT64", limit)]
        rows, processed = self._call(f"table {dataset}.{table}", lambda: self._rows(sql, params))
        return {"results": rows, "bytes_processed": processed}

    def get(self, dataset: str, table: str, document_id: str) -> dict[str, Any] | None:
        sql = f"SELECT * EXCEPT (`embedding`) FROM {self._table(dataset, table)} WHERE document_id = @id LIMIT 1"
        params = [self._bq.ScalarQueryParameter("id", "STRING", document_id)]
        rows, _ = self._call(f"table {dataset}.{table}", lambda: self._rows(sql, params))
        return rows[0] if rows else None

    def sample(self, dataset: str, table: str, limit: int) -> list[dict[str, Any]]:
        sql = (f"SELECT document_id, title, url, CHAR_LENGTH(content) AS content_length, created_at "
               f"FROM {self._table(dataset, table)} ORDER BY created_at DESC LIMIT @n")
        params = [self._bq.ScalarQueryParameter("n", "INT64", limit)]
        rows, _ = self._call(f"table {dataset}.{table}", lambda: self._rows(sql, params))
        return rows
