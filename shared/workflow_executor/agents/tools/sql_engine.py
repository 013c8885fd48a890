"""One operator-named database of ``sql_database`` over SQLAlchemy: opened read-only unless the
operator allows writes (SQLite: ``mode=ro`` + ``query_only`` + an authorizer; PostgreSQL/MySQL: a
read-only transaction), every statement bounded in rows and time, parameters bound, and the
transaction rolled back unless a permitted write finished.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

from ...errors import InvalidArgument, LimitExceeded, QueryNotAllowed, ToolFailed, Transient

# SQLite authorizer actions a statement may take; everything else is denied while it runs
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE})
_WRITE_ACTIONS = frozenset({sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE,
                            sqlite3.SQLITE_TRANSACTION})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


class Database:
    """One database by name. Its SQLAlchemy engine is made on first use (then shared)."""

    def __init__(self, name: str, url: str, writable: bool) -> None:
        self.name = name
        self.writable = writable
        self._url = url
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine().dialect.name  # type: ignore[no-any-return]

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = _make_engine(self.name, self._url, self.writable)
            return self._engine

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def run(self, sql: str, params: Mapping[str, Any], *, max_rows: int, timeout_s: float, commit: bool,
            allowed_tables: Collection[str] | None = None) -> dict[str, Any]:
        """Run one checked statement. ``commit``: keep its writes (else rolled back).
        Result: columns, rows (dicts, at most ``max_rows``), truncated, rows_affected.
        Errors: LimitExceeded past ``timeout_s``, QueryNotAllowed when the database itself refuses
        (a write on a read-only connection), ToolFailed for other database errors."""
        from sqlalchemy import exc, text

        engine = self.engine()
        deadline = time.monotonic() + timeout_s
        try:
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                sqlite = isinstance(raw, sqlite3.Connection)
                if sqlite:
                    raw.set_authorizer(_authorizer(self.writable and commit, allowed_tables))
                    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
                trans = conn.begin()
                try:
                    _limit_transaction(conn, engine.dialect.name, timeout_s, read_only=not (self.writable and commit))
                    result = conn.execute(text(sql), dict(params))
                    out: dict[str, Any] = {"columns": [], "rows": [], "truncated": False, "rows_affected": None}
                    if result.returns_rows:
                        cols = list(result.keys())
                        fetched = result.fetchmany(max_rows + 1)
                        out["columns"] = cols
                        out["rows"] = [{c: _jsonable(v) for c, v in zip(cols, row, strict=False)}
                                       for row in fetched[:max_rows]]
                        out["truncated"] = len(fetched) > max_rows
                    else:
                        out["rows_affected"] = result.rowcount
                    result.close()
                    if commit and self.writable:
                        trans.commit()
                    return out
                finally:
                    if trans.is_active:
                        trans.rollback()
                    if sqlite:
                        raw.set_authorizer(None)
                        raw.set_progress_handler(None, 0)
        except exc.DBAPIError as err:
            raise _db_error(self.name, err, timeout_s, time.monotonic() > deadline) from None
        except exc.ArgumentError as err:
            raise InvalidArgument(f"database '{self.name}': {str(err).splitlines()[0][:300]}",
                                  fix="bind every :name in the query with parameters") from None
        except exc.StatementError as err:  # a parameter the query names but the call did not give
            raise InvalidArgument(f"database '{self.name}': {str(err.orig or err).splitlines()[0][:300]}",
                                  fix="give parameters for every :name in the query") from None

    def describe(self, include_schema: bool, matches: Callable[[str], bool]) -> dict[str, Any]:
        """Tables and views with their columns (``include_schema``) and primary keys."""
        from sqlalchemy import exc, inspect

        try:
            insp = inspect(self.engine())
            tables = []
            for kind, names in (("table", insp.get_table_names()), ("view", insp.get_view_names())):
                for name in names:
                    if not matches(name):
                        continue
                    entry: dict[str, Any] = {"name": name, "type": kind}
                    if include_schema:
                        entry["columns"] = [{"name": c["name"], "type": str(c["type"]), "nullable": c["nullable"]}
                                            for c in insp.get_columns(name)]
                        if kind == "table":
                            entry["primary_key"] = list(insp.get_pk_constraint(name).get("constrained_columns") or [])
                    tables.append(entry)
            return {"database_type": self.dialect, "database_name": self.name, "tables": tables,
                    "total_tables": len(tables), "read_only": not self.writable}
        except exc.DBAPIError as err:
            raise _db_error(self.name, err, 0, False) from None


def _make_engine(name: str, url: str, writable: bool) -> Any:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidArgument(f"WFX_SQL_DATABASES gives database '{name}' a URL SQLAlchemy cannot read",
                              fix="write name=dialect://user@host/db (e.g. sqlite:///path, postgresql://...)") from None
    sqlite = parsed.get_backend_name() == "sqlite"
    # no pool: tool instances have no close hook, so each query opens and closes its connection
    kwargs: dict[str, Any] = {"poolclass": NullPool}
    path = parsed.database or ""
    if sqlite and not writable and path not in ("", ":memory:") and not path.startswith("file:"):
        # the file itself opened read-only: no statement can change it, whatever the check missed
        parsed = make_url(f"sqlite:///file:{quote(path)}?mode=ro&uri=true")
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as err:
        raise ToolFailed(f"the driver for database '{name}' is not installed ({type(err).__name__})",
                         fix="the operator installs the SQLAlchemy driver of that database") from None
    if sqlite:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA trusted_schema = OFF")
            if not writable:
                dbapi_conn.execute("PRAGMA query_only = ON")
    return engine


def _limit_transaction(conn: Any, dialect: str, timeout_s: float, read_only: bool) -> None:
    """The server-side limits of this transaction (SQLite is bounded by its progress handler)."""
    ms = max(int(timeout_s * 1000), 1)
    if dialect == "postgresql":
        if read_only:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
    elif dialect in ("mysql", "mariadb"):
        if read_only:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME = {ms}")


def _authorizer(writable: bool, tables: Collection[str] | None) -> Callable[..., int]:
    allowed = _READ_ACTIONS | (_WRITE_ACTIONS if writable else frozenset())
    wanted = {t.lower() for t in tables} if tables is not None else None

    def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
        if action not in allowed:
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        if wanted is not None and action in (sqlite3.SQLITE_READ, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE,
                                             sqlite3.SQLITE_DELETE) and (arg1 or "").lower() not in wanted:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


def _db_error(name: str, err: Any, timeout_s: float, late: bool) -> Exception:
    """A database error as ours, without the statement's parameters or the URL."""
    orig = getattr(err, "orig", None) or err
    first = (str(orig).splitlines() or [""])[0][:300]
    low = first.lower()
    if late or "interrupted" in low or "statement timeout" in low or "max_execution_time" in low:
        return LimitExceeded(f"the query on database '{name}' ran over {timeout_s:g} s",
                             fix="narrow the query (a WHERE clause, fewer joins, a LIMIT)", reason="timeout")
    if "not authorized" in low or "readonly" in low or "read-only" in low or "read only" in low:
        return QueryNotAllowed(f"database '{name}' refused the statement: {first}", reason="denied_by_database",
                               fix="query with SELECT over the allowed tables")
    unreachable = "could not connect" in low or "connection refused" in low
    if getattr(err, "connection_invalidated", False) or unreachable:
        return Transient(f"cannot reach database '{name}': {type(orig).__name__}", fix="try again later")
    return ToolFailed(f"database '{name}' answered: {type(orig).__name__}: {first}",
                      fix="check the SQL against get_database_info's tables and columns")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
