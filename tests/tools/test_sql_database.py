"""``sql_database``: SQL through SQLAlchemy on real SQLite files the operator names; read-only unless
the operator allows writes (the file opened read-only, a statement check, a rollback), parameters
bound, rows and time bounded; a document names a database, never a DSN or a path."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import (
    DatabaseNotAllowed,
    InvalidArgument,
    LimitExceeded,
    QueryNotAllowed,
    SpecError,
    WfxError,
)
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text


def _make_db(path: Path, rows: int = 5) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT)")
        conn.execute("CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT)")
        conn.executemany("INSERT INTO users (name, city) VALUES (?, ?)",
                         [(f"user{i}", "Oslo" if i % 2 else "Lund") for i in range(rows)])
        conn.execute("INSERT INTO secrets (value) VALUES ('s3cr3t')")
    conn.close()
    return path


@pytest.fixture
def dbs(tmp_path: Path) -> dict[str, Path]:
    return {"shop": _make_db(tmp_path / "shop.db"), "ledger": _make_db(tmp_path / "ledger.db"),
            "other": _make_db(tmp_path / "other.db")}


def _env(dbs: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"WFX_SQL_DATABASES": ",".join(f"{n}=sqlite:///{p}" for n, p in dbs.items() if n != "other"), **extra}


def _call(env: dict[str, str], tool: dict[str, Any], op: str, **args: Any) -> Any:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env(env)))
    doc = load_text(json.dumps({"tools": [{"id": "db", **tool}],
                                "workflows": {"w": {"steps": [{"id": "s", "tool": "db", "params": {}}]}}}))
    return reg.run_tool("db", {"method": op, **args}, doc, ToolCall("e", "s"))


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        n: int = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    conn.close()
    return n


def test_a_select_binds_its_parameters_and_returns_rows(dbs: dict[str, Path]) -> None:
    out = _call(_env(dbs), {"type": "mcpsql_database", "database": "shop"}, "execute_query",
                query="SELECT id, name FROM users WHERE city = :city ORDER BY id", parameters={"city": "Oslo"})
    assert out["columns"] == ["id", "name"]
    assert out["results"] == [{"id": 2, "name": "user1"}, {"id": 4, "name": "user3"}]
    assert (out["row_count"], out["truncated"], out["operation"]) == (2, False, "SELECT")
    # LangSwarm's %(name)s placeholders bind too; a value that looks like SQL stays a value
    again = _call(_env(dbs), {"type": "sql_database", "database": "shop"}, "execute_query",
                  query="SELECT count(*) AS n FROM users WHERE name = %(name)s", parameters={"name": "x' OR '1'='1"})
    assert again["results"] == [{"n": 0}]


def test_rows_are_capped_by_the_tool_and_the_operator(dbs: dict[str, Path], tmp_path: Path) -> None:
    big = {"shop": _make_db(tmp_path / "big.db", rows=50)}
    env = _env(big, WFX_SQL_MAX_ROWS="20")
    out = _call(env, {"type": "sql_database", "max_rows": 1000}, "execute_query", query="SELECT * FROM users")
    assert (out["row_count"], out["truncated"]) == (20, True)  # the tool cannot widen the operator's cap
    out = _call(env, {"type": "sql_database"}, "execute_query", query="SELECT * FROM users", limit=3)
    assert (out["row_count"], out["truncated"]) == (3, True)


def test_a_query_over_the_time_limit_is_stopped(dbs: dict[str, Path]) -> None:
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
            "SELECT count(*) FROM c")
    with pytest.raises(LimitExceeded) as err:
        _call(_env(dbs, WFX_SQL_TIMEOUT_S="0.3"), {"type": "sql_database", "database": "shop"}, "execute_query",
              query=slow)
    assert err.value.details["reason"] == "timeout"


def test_get_database_info_lists_tables_and_columns(dbs: dict[str, Path]) -> None:
    out = _call(_env(dbs), {"type": "sql_database", "database": "shop"}, "get_database_info", table_pattern="us%")
    assert [t["name"] for t in out["tables"]] == ["users"]
    assert [c["name"] for c in out["tables"][0]["columns"]] == ["id", "name", "city"]
    assert out["tables"][0]["primary_key"] == ["id"]
    assert out["read_only"] is True and out["database_type"] == "sqlite"
    assert str(dbs["shop"]) not in json.dumps(out)  # the operator's path is not shown


def test_writes_need_the_operator_and_the_tool_and_then_commit(dbs: dict[str, Path]) -> None:
    insert = "INSERT INTO users (name, city) VALUES (:n, :c)"
    # the operator allows writes on shop; the tool must also list the operation
    with pytest.raises(QueryNotAllowed) as err:
        _call(_env(dbs, WFX_SQL_WRITE="shop"), {"type": "sql_database", "database": "shop"}, "execute_query",
              query=insert, parameters={"n": "x", "c": "y"})
    assert err.value.details["reason"] == "operation"
    tool = {"type": "sql_database", "database": "shop", "allowed_operations": ["SELECT", "INSERT", "UPDATE"]}
    out = _call(_env(dbs, WFX_SQL_WRITE="shop"), tool, "execute_query", query=insert, parameters={"n": "x", "c": "y"})
    assert out["rows_affected"] == 1
    assert _count(dbs["shop"]) == 6


@pytest.mark.parametrize("query", [
    "DELETE FROM users",
    "UPDATE users SET name = 'x'",
    "INSERT INTO users (name) VALUES ('x')",
    "WITH d AS (SELECT 1) DELETE FROM users",
    "DROP TABLE users",
    "CREATE TABLE t (a)",
    "PRAGMA query_only = OFF",
    "VACUUM INTO '/tmp/copy.db'",
    "BEGIN",
])
def test_a_write_on_a_read_only_database_is_refused_and_changes_nothing(dbs: dict[str, Path], query: str) -> None:
    # the tool itself lists every operation: the operator's read-only still holds
    tool = {"type": "sql_database", "database": "shop", "allowed_operations": ["SELECT", "INSERT", "UPDATE", "DELETE"]}
    with pytest.raises(QueryNotAllowed) as err:
        _call(_env(dbs), tool, "execute_query", query=query)
    assert err.value.code == "query_not_allowed"
    assert _count(dbs["shop"]) == 5


def test_the_read_only_file_holds_even_where_the_statement_check_is_passed(dbs: dict[str, Path]) -> None:
    from workflow_executor.agents.tools.sql_engine import Database

    # the statement check is skipped here on purpose: the database layer alone must refuse
    db = Database("shop", f"sqlite:///{dbs['shop']}", writable=False)
    for sql in ("DELETE FROM users", "ATTACH DATABASE '{}' AS o".format(dbs["other"]), "PRAGMA query_only = OFF"):
        with pytest.raises(QueryNotAllowed):
            db.run(sql, {}, max_rows=10, timeout_s=5, commit=True)
    db.close()
    assert _count(dbs["shop"]) == 5


@pytest.mark.parametrize("writable", ["", "shop"])
def test_attach_of_another_file_is_refused_even_on_a_writable_database(dbs: dict[str, Path], writable: str) -> None:
    tool = {"type": "sql_database", "database": "shop", "allowed_operations": ["SELECT", "INSERT"]}
    for query in (f"ATTACH DATABASE '{dbs['other']}' AS o", f"ATTACH '{dbs['other']}' AS o"):
        with pytest.raises(QueryNotAllowed) as err:
            _call(_env(dbs, WFX_SQL_WRITE=writable), tool, "execute_query", query=query)
        assert err.value.details["reason"] == "attach"


@pytest.mark.parametrize("query", [
    "SELECT 1; DELETE FROM users",
    "SELECT 1; SELECT 2",
    "SELECT 'a;b' FROM users; DROP TABLE users",
    "SELECT 1 /* x */ ; -- y\n DELETE FROM users",
])
def test_more_than_one_statement_is_refused(dbs: dict[str, Path], query: str) -> None:
    tool = {"type": "sql_database", "database": "shop", "allowed_operations": ["SELECT", "DELETE"]}
    with pytest.raises(QueryNotAllowed) as err:
        _call(_env(dbs, WFX_SQL_WRITE="shop"), tool, "execute_query", query=query)
    assert err.value.details["reason"] == "multiple_statements"
    assert _count(dbs["shop"]) == 5


def test_a_semicolon_inside_a_string_or_at_the_end_is_one_statement(dbs: dict[str, Path]) -> None:
    out = _call(_env(dbs), {"type": "sql_database", "database": "shop"}, "execute_query",
                query="SELECT 'drop table users; --' AS s FROM users LIMIT 1;")
    assert out["results"] == [{"s": "drop table users; --"}]


def test_a_tool_can_narrow_the_tables(dbs: dict[str, Path]) -> None:
    tool = {"type": "sql_database", "database": "shop", "allowed_tables": ["users"]}
    assert _call(_env(dbs), tool, "execute_query", query="SELECT count(*) AS n FROM users")["results"] == [{"n": 5}]
    with pytest.raises(QueryNotAllowed):
        _call(_env(dbs), tool, "execute_query", query="SELECT value FROM secrets")
    # a table the text check cannot see (a subquery in a function) is still refused by the database
    with pytest.raises(QueryNotAllowed):
        _call(_env(dbs), tool, "execute_query", query="SELECT (SELECT value FROM \"secrets\") AS v FROM users")


@pytest.mark.parametrize("tool", [
    {"type": "sql_database", "database": "payroll"},                         # a name the operator never gave
    {"type": "sql_database", "db_path": "/etc/passwd.db"},                   # LangSwarm's own path key
    {"type": "sql_database", "database": "shop", "host": "db.example.com"},  # a location beside a name
    {"type": "sql_database", "config": {"db_type": "postgresql", "password": "pw", "database": "shop"}},
    {"type": "sql_database", "database": "sqlite:////tmp/evil.db"},          # a DSN as the name
    {"type": "sql_database"},                                                # several databases: which one?
])
def test_a_document_can_only_name_a_database_the_operator_configured(dbs: dict[str, Path],
                                                                      tool: dict[str, Any]) -> None:
    with pytest.raises(DatabaseNotAllowed) as err:
        _call(_env(dbs), tool, "execute_query", query="SELECT 1")
    assert err.value.code == "database_not_allowed"
    shown = json.dumps(err.value.to_dict())
    assert str(dbs["shop"]) not in shown and "evil.db" not in shown and "pw" not in shown.replace("password", "")


def test_with_no_databases_configured_validation_names_the_setting(tmp_path: Path) -> None:
    wf = """
tools: [{id: db, type: mcpsql_database, database: shop}]
workflows: {w: {steps: [{id: s, tool: db, params: {method: execute_query, query: "SELECT 1"}}]}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf)
    assert err.value.issues[0].path == "tools.db.type"
    assert "WFX_SQL_DATABASES" in err.value.issues[0].message


def test_missing_parameters_are_a_clear_argument_error(dbs: dict[str, Path]) -> None:
    with pytest.raises(InvalidArgument):
        _call(_env(dbs), {"type": "sql_database", "database": "shop"}, "execute_query",
              query="SELECT * FROM users WHERE id = :id")


def test_a_sql_tool_step_and_its_refusal_run_in_a_workflow(dbs: dict[str, Path], tmp_path: Path) -> None:
    wf = """
tools:
  - id: shop_db
    type: mcpsql_database
    config: {database: shop, max_rows: 10}
workflows:
  w:
    steps:
      - id: count
        tool: shop_db
        params: {method: execute_query, query: "SELECT count(*) AS n FROM users WHERE city = :c", parameters: {c: Lund}}
        output: {to: user}
  bad:
    steps:
      - id: wipe
        tool: shop_db
        params: {method: execute_query, query: "DELETE FROM users"}
"""
    with executor(tmp_path, _env(dbs)) as wfx:
        wfx.register(wf)
        done = wfx.run("w")
        failed = wfx.run("bad")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result["results"] == [{"n": 3}]
    assert failed.status == ExecutionStatus.FAILED
    assert failed.error is not None and "query_not_allowed" in json.dumps(failed.model_dump(mode="json"))
    assert _count(dbs["shop"]) == 5


def test_an_agent_queries_the_database_through_the_openai_client(dbs: dict[str, Path], tmp_path: Path) -> None:
    from dataclasses import replace

    from llm_server import LLMServer
    from workflow_executor.api import Executor
    from workflow_executor.settings import Settings

    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini", **_env(dbs)})
        llm.script({"tool_calls": [{"name": "db__execute_query",
                                    "arguments": {"query": "SELECT name FROM users WHERE id = :id",
                                                  "parameters": {"id": 1}}}]}, "user0")
        doc = {"agents": [{"id": "analyst", "agent_type": "openai", "tools": ["db"]}],
               "tools": [{"id": "db", "type": "mcpsql_database", "database": "ledger"}],
               "workflows": {"w": {"steps": [{"id": "ask", "agent": "analyst", "input": "${user_input}",
                                              "output": {"to": "user"}}]}}}
        with Executor.local(settings=replace(s, store="memory")) as wfx:
            done = wfx.run(workflow=doc, input="who is user 1?")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
    assert offered == {"db__execute_query", "db__get_database_info"}
    results = [json.loads(m["content"]) for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert results[0]["results"] == [{"name": "user0"}]
    assert str(dbs["ledger"]) not in json.dumps(llm.requests)


def test_errors_never_show_the_database_url(tmp_path: Path) -> None:
    env = {"WFX_SQL_DATABASES": f"gone=sqlite:///{tmp_path}/missing/nowhere.db"}
    with pytest.raises(WfxError) as err:
        _call(env, {"type": "sql_database"}, "execute_query", query="SELECT 1")
    assert "nowhere.db" not in json.dumps(err.value.to_dict())


def test_the_operators_database_list_keeps_commas_inside_urls_and_refuses_bad_entries() -> None:
    from workflow_executor.settings_tools_data import parse_named_urls

    got = parse_named_urls("a=postgresql://u@h/db?options=-c%20x,b=sqlite:///x.db?mode=ro,y", "WFX_SQL_DATABASES")
    assert got == {"a": "postgresql://u@h/db?options=-c%20x", "b": "sqlite:///x.db?mode=ro,y"}
    for bad in ("sqlite:///x.db", "a=", "a=sqlite:///1,a=sqlite:///2"):
        with pytest.raises(InvalidArgument):
            parse_named_urls(bad, "WFX_SQL_DATABASES")
    with pytest.raises(InvalidArgument):
        ToolSettings.from_env({"WFX_GITHUB_REPOS": "acme"})


@pytest.mark.parametrize(("sql", "dialect", "writable", "expected"), [
    ("WITH x AS (SELECT replace(name, 'a', 'b') AS n FROM users) SELECT * FROM x", "sqlite", True, "SELECT"),
    ("WITH x AS (SELECT 1) INSERT INTO users (name) SELECT 'a' FROM x", "sqlite", True, "INSERT"),
    ("SELECT release, start, \"drop\" FROM versions", "sqlite", False, "SELECT"),   # keyword-like names
    ("UPDATE users SET name = :n WHERE id = :id", "sqlite", True, "UPDATE"),
    ("SELECT '\\'' ; DROP TABLE users; -- '", "mysql", False, "multiple_statements"),  # MySQL: '\'' ends there
    ("SELECT 1 /*! ; DROP TABLE users */", "mysql", False, "unterminated"),       # MySQL runs /*! ... */
    ("SELECT $$ ; DELETE FROM users; $$", "postgresql", False, "SELECT"),         # one dollar-quoted string
    ("SELECT $$ ; DELETE FROM users; $$", "sqlite", False, "unterminated"),       # not a string in SQLite
    ("SELECT * FROM users FOR UPDATE", "postgresql", False, "read_only"),
    ("SELECT pg_read_file('/etc/passwd')", "postgresql", False, "function"),
    ("EXPLAIN ANALYZE DELETE FROM users", "postgresql", False, "read_only"),
    ("SET statement_timeout = 0", "postgresql", True, "set"),
    ("COPY users TO '/tmp/x'", "postgresql", True, "copy"),
])
def test_the_statement_check_reads_sql_as_each_database_does(sql: str, dialect: str, writable: bool,
                                                             expected: str) -> None:
    from workflow_executor.agents.tools.sql_guard import check_statement

    try:
        got = check_statement(sql, writable, ["SELECT", "INSERT", "UPDATE"], None, dialect)
    except QueryNotAllowed as exc:
        got = exc.details["reason"]
    assert got == expected
