"""``sql_database`` (LangSwarm: ``mcpsql_database``): SQL over SQLAlchemy against a database the
operator names (``WFX_SQL_DATABASES`` or ``WFX_SQL_DATABASES_SECRET``). A workflow names the
database (``database: <name>``), never a URL, path or password; it may narrow, never widen, what
the operator allows (``allowed_operations``, ``allowed_tables``, ``max_rows``, ``timeout_seconds``).
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...errors import DatabaseNotAllowed, InvalidArgument, WfxError
from ...settings_tools_data import parse_named_urls
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolEnv, tool_setting
from .sql_engine import Database
from .sql_guard import check_statement, named_params

# configuration keys that would put a location or credential in the document: refused
DSN_KEYS = ("db_path", "path", "host", "port", "user", "username", "password", "connection_string", "dsn",
            "url", "database_url", "db_url", "uri", "connection", "sqlalchemy_url")


class QueryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., max_length=100_000, description="one SQL statement; values as :name placeholders")
    parameters: dict[str, Any] | None = Field(None, description="values bound to the query's :name placeholders")
    limit: int | None = Field(None, ge=1, description="rows to return at most (within the tool's max_rows)")
    explain_only: bool = Field(False, description="show the query plan instead of running the query")


class InfoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_schema: bool = Field(True, description="include each table's columns and primary key")
    table_pattern: str | None = Field(None, max_length=200,
                                      description="only tables whose name matches (glob '*' or SQL '%')")


def operator_databases(env: ToolEnv) -> dict[str, str]:
    """The operator's databases by name (URLs stay inside this process)."""
    data = env.settings.data
    if data.sql_databases:
        return dict(data.sql_databases)
    if data.sql_databases_secret and env.secret is not None:
        return parse_named_urls(env.secret(data.sql_databases_secret), "WFX_SQL_DATABASES_SECRET")
    return {}


def choose_database(tool: Tool, env: ToolEnv) -> tuple[str, str]:
    """(name, URL) of the database ``tool`` names. Errors: DatabaseNotAllowed for a location or
    credential in the document, a name the operator has not configured, or none configured."""
    given = [k for k in DSN_KEYS if tool_setting(tool, k) is not None]
    if given:
        raise DatabaseNotAllowed(f"tool '{tool.id}' gives a database location or credential ({', '.join(given)}); "
                                 "a workflow may only name a database the operator configured",
                                 fix="remove those keys and write database: <name> (the operator maps names to "
                                     "URLs with WFX_SQL_DATABASES)", field="database")
    dbs = operator_databases(env)
    if not dbs:
        raise DatabaseNotAllowed(f"tool '{tool.id}' needs a database, and the operator has configured none",
                                 fix="the operator names databases with WFX_SQL_DATABASES=name=sqlite:///path "
                                     "(or WFX_SQL_DATABASES_SECRET in the cloud)", field="database")
    wanted = tool_setting(tool, "database", tool_setting(tool, "db_name"))
    if wanted is None and len(dbs) == 1:
        return next(iter(dbs.items()))
    if not isinstance(wanted, str) or wanted not in dbs:
        shown = "no database" if wanted is None else (
            "a URL" if isinstance(wanted, str) and (":" in wanted or "/" in wanted) else f"'{str(wanted)[:64]}'")
        raise DatabaseNotAllowed(f"tool '{tool.id}' names {shown}, which is not a database the operator configured",
                                 fix=f"write database: <one of {', '.join(sorted(dbs))}>", field="database")
    return wanted, dbs[wanted]


def _str_list(tool: Tool, key: str) -> list[str] | None:
    value = tool_setting(tool, key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"tool '{tool.id}': {key} must be a list of names", fix=f"write {key}: [a, b]",
                              field=key)
    return value


def _check(tool: Tool, env: ToolEnv) -> str | None:
    try:
        choose_database(tool, env)
        _str_list(tool, "allowed_operations")
        _str_list(tool, "allowed_tables")
    except WfxError as exc:
        return str(exc)
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    name, url = choose_database(tool, env)
    data = env.settings.data
    db = Database(name, url, writable=name in data.sql_writable)
    operations = _str_list(tool, "allowed_operations") or ["SELECT"]  # LangSwarm's default: reads only
    tables = _str_list(tool, "allowed_tables")
    max_rows = max(1, min(int(tool_setting(tool, "max_rows", data.sql_max_rows)), data.sql_max_rows))
    timeout_s = max(0.1, min(float(tool_setting(tool, "timeout_seconds", data.sql_timeout_s)), data.sql_timeout_s))
    explain_always = bool(tool_setting(tool, "enable_explain_only", False))

    def execute_query(a: QueryArgs, ctx: ToolCall) -> Any:
        dialect = db.dialect
        op = check_statement(a.query, db.writable, operations, tables, dialect)
        sql = named_params(a.query, dialect).strip().rstrip(";")
        explain = a.explain_only or explain_always
        if explain:
            sql = ("EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ") + sql
        limit = min(a.limit or max_rows, max_rows)
        budget = timeout_s if ctx.deadline_s is None else max(min(timeout_s, ctx.deadline_s - time.monotonic()), 0.05)
        started = time.monotonic()
        out = db.run(sql, a.parameters or {}, max_rows=limit, timeout_s=budget, commit=op != "SELECT" and not explain,
                     allowed_tables=tables)
        warnings = [f"results truncated to {limit} rows"] if out["truncated"] else []
        answer: dict[str, Any] = {
            "success": True, "database": name, "query": a.query, "operation": op, "columns": out["columns"],
            "results": out["rows"], "row_count": len(out["rows"]), "truncated": out["truncated"],
            "execution_time_ms": round((time.monotonic() - started) * 1000, 3), "warnings": warnings}
        if out["rows_affected"] is not None:
            answer["rows_affected"] = out["rows_affected"]
        if explain:
            answer["query_plan"] = out["rows"]
        return answer

    def get_database_info(a: InfoArgs, ctx: ToolCall) -> Any:
        pattern = (a.table_pattern or "*").replace("%", "*").lower()
        wanted = {t.lower() for t in tables} if tables is not None else None

        def matches(table: str) -> bool:
            return fnmatch.fnmatchcase(table.lower(), pattern) and (wanted is None or table.lower() in wanted)

        return {"success": True, **db.describe(a.include_schema, matches)}

    mode = "read and write" if db.writable and set(o.upper() for o in operations) - {"SELECT"} else "read-only"
    return [
        Operation("execute_query", f"Run one SQL statement on database '{name}' ({mode}; bind values as :name "
                  f"with parameters; at most {max_rows} rows).", QueryArgs, execute_query),
        Operation("get_database_info", f"List the tables of database '{name}' with their columns.", InfoArgs,
                  get_database_info),
    ]


KIND = OperationsKind("sql_database", "SQL on a database the operator names (WFX_SQL_DATABASES); read-only unless "
                      "WFX_SQL_WRITE allows writes", _operations,
                      aliases=("mcpsql_database", "sql", "database", "sql_db"), check=_check)
