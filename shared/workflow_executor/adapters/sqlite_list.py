"""The SQL of the SQLite store's ``list``: equality filters, the search filters of
ExecutionQuery (time range, id prefix, error text) and the cursor, newest first; each served by
an index (executions_created / _status / _workflow / _principal, the primary key for an id
prefix, executions_errors for error text)."""

from __future__ import annotations

from typing import Any

from ..ports import ExecutionQuery
from .common import decode_cursor
from .search import check_query, words
from .sqlite_rows import COLS

_TOP = "\U0010ffff"  # above every character: [prefix, prefix + _TOP) holds the ids that start with it


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_sql(query: ExecutionQuery) -> tuple[str, list[Any]]:
    """The SELECT (with ``limit + 1`` rows, to tell whether a next page exists) and its arguments.
    Errors: InvalidArgument (see search.check_query, and a cursor we did not issue)."""
    check_query(query)
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("status", query.status), ("workflow_name", query.workflow_name),
                          ("principal", query.principal)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if query.created_from_s is not None:
        where.append("created_at_s >= ?")
        args.append(query.created_from_s)
    if query.created_to_s is not None:
        where.append("created_at_s <= ?")
        args.append(query.created_to_s)
    if query.id_prefix is not None:
        where.append("id >= ? AND id < ?")
        args += [query.id_prefix, query.id_prefix + _TOP]
    if query.error_text is not None:
        where.append("error_text IS NOT NULL")  # the partial index executions_errors
        for word in words(query.error_text):
            where.append("error_text LIKE ? ESCAPE '\\'")
            args.append(_like(word))
    if query.cursor:
        created, last_id = decode_cursor(query.cursor)
        where.append("(created_at_s < ? OR (created_at_s = ? AND id < ?))")
        args += [created, created, last_id]
    sql = f"SELECT {COLS} FROM executions {'WHERE ' + ' AND '.join(where) if where else ''}"
    return sql + " ORDER BY created_at_s DESC, id DESC LIMIT ?", [*args, query.limit + 1]
