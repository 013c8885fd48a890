"""A damaged page in the SQLite store (issue 18, point 9): a run answers with an ``isError``
result coded store_corrupt whose fix names the file and ``sqlite3 .recover``, never -32603 or a
traceback; from then on nothing more is written to the damaged file, and what was stored before
reads back as it was."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from wfx_mcp_support import Server, start_server, stop


def damage_table(db: Path, table: str) -> slice:
    """Overwrite the root page of ``table`` with garbage (as a bad disk block would); its bytes."""
    with closing(sqlite3.connect(db)) as c:
        page = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        size = c.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))
    return slice((page - 1) * size, page * size)


def executions(db: Path) -> list[tuple[str, str]]:
    """(status, doc) of every stored execution, read on a read-only connection."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return list(c.execute("SELECT status, doc FROM executions ORDER BY created_at_s"))


def run(srv: Server, n: int) -> dict[str, object]:
    return srv.tool("execute_workflow", workflow_name="echo", input_data={"n": n, "pad": "x" * 3000})


def test_a_damaged_page_makes_a_run_a_store_corrupt_result_and_nothing_is_written_after(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        assert all(run(srv, n)["isError"] is False for n in range(6))
    finally:
        assert srv.proc is not None
        stop(srv.proc)
    db = tmp_path / "wfx.db"
    page = damage_table(db, "steps")
    damaged, kept = db.read_bytes()[page], executions(db)
    assert [status for status, _ in kept] == ["completed"] * 6

    srv = start_server(tmp_path)
    try:
        for n in range(2):
            res = run(srv, 10 + n)
            out = res["structuredContent"]
            assert isinstance(out, dict) and res["isError"] is True and out["code"] == "store_corrupt", res
            assert "wfx.db" in out["fix"] and ".recover" in out["fix"]
        # a listing reads each live run's newest checkpoint from the steps table (schema 3): with
        # that table damaged it answers store_corrupt too, never an internal error
        listed = srv.tool("list_executions", limit=50)
        assert listed["structuredContent"]["code"] == "store_corrupt", listed
    finally:
        srv.session.close()
        assert srv.proc is not None
        stop(srv.proc)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
    after = executions(db)  # the first failed run was stored before its step; the second one not at all
    assert after[:6] == kept and [status for status, _ in after[6:]] == ["running"]
    assert db.read_bytes()[page] == damaged
