"""``sql_database`` on a real PostgreSQL server (started here on 127.0.0.1, through SQLAlchemy and
psycopg): the read-only transaction refuses writes the statement check never saw, the statement
timeout stops a long query, and a writable database commits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wfx_mcp_support import eventually, free_port
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.agents.tools.sql_engine import Database
from workflow_executor.errors import LimitExceeded, QueryNotAllowed
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

psycopg = pytest.importorskip("psycopg")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
if not (PG_BIN / "postgres").exists() or shutil.which("runuser") is None:
    pytest.skip("PostgreSQL 15 is not installed here", allow_module_level=True)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    home = Path(tempfile.mkdtemp(prefix="wfx-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(home / "data"), "-A", "trust", "-U", "wfx"]),
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    log = (home / "pg.log").open("wb")
    proc = subprocess.Popen(_as_postgres([str(PG_BIN / "postgres"), "-D", str(home / "data"), "-p", str(port),
                                          "-c", "listen_addresses=127.0.0.1", "-k", str(home), "-F"]),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    dsn = f"host=127.0.0.1 port={port} user=wfx dbname=postgres"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"postgres exited: {(home / 'pg.log').read_text()[-2000:]}")
        try:
            psycopg.connect(dsn, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    try:
        eventually(ready, 30.0, 0.05)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, customer text, total numeric(10,2))")
            conn.execute("INSERT INTO orders (customer, total) VALUES ('ann', 10.50), ('bob', 20), ('ann', 5)")
        yield f"postgresql+psycopg://wfx@127.0.0.1:{port}/postgres"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # fast shutdown: open connections are ended
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _call(url: str, tool: dict[str, Any], op: str, writable: str = "", timeout: str = "30", **args: Any) -> Any:
    env = {"WFX_SQL_DATABASES": f"sales={url}", "WFX_SQL_WRITE": writable, "WFX_SQL_TIMEOUT_S": timeout}
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env(env)))
    doc = load_text(f"""
tools: [{{id: db, type: mcpsql_database, database: sales, allowed_operations: {tool.get('ops', ['SELECT'])}}}]
workflows: {{w: {{steps: [{{id: s, tool: db, params: {{}}}}]}}}}
""")
    return reg.run_tool("db", {"method": op, **args}, doc, ToolCall("e", "s"))


def _total(url: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert row is not None
    return int(row[0])


def test_a_select_on_postgres_binds_parameters_and_converts_numbers(pg_url: str) -> None:
    out = _call(pg_url, {}, "execute_query", query="SELECT customer, sum(total) AS spent FROM orders "
                "WHERE customer = %(who)s GROUP BY customer", parameters={"who": "ann"})
    assert out["results"] == [{"customer": "ann", "spent": 15.5}]
    info = _call(pg_url, {}, "get_database_info")
    assert info["database_type"] == "postgresql" and [t["name"] for t in info["tables"]] == ["orders"]


def test_the_read_only_transaction_refuses_a_write_the_check_never_saw(pg_url: str) -> None:
    db = Database("sales", pg_url, writable=False)
    try:
        for sql in ("DELETE FROM orders", "WITH d AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM d"):
            with pytest.raises(QueryNotAllowed) as err:
                db.run(sql, {}, max_rows=10, timeout_s=5, commit=True)  # straight to the database
            assert err.value.details["reason"] == "denied_by_database"
    finally:
        db.close()
    assert _total(pg_url) == 3


def test_the_statement_timeout_stops_a_long_query(pg_url: str) -> None:
    with pytest.raises(LimitExceeded) as err:
        _call(pg_url, {}, "execute_query", timeout="0.3", query="SELECT pg_sleep(5)")
    assert err.value.details["reason"] == "timeout"


def test_a_writable_database_commits_a_permitted_write(pg_url: str) -> None:
    before = _total(pg_url)
    out = _call(pg_url, {"ops": ["SELECT", "INSERT"]}, "execute_query", writable="sales",
                query="INSERT INTO orders (customer, total) VALUES (:c, :t)", parameters={"c": "cy", "t": 1})
    assert out["rows_affected"] == 1
    assert _total(pg_url) == before + 1
