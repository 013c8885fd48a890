"""Counting the transactions SQLite committed in a statement trace (``set_trace_callback``): each
COMMIT, and each write statement run outside BEGIN ... COMMIT (SQLite commits it when it ends: the
store runs a checkpoint alone that way)."""

from __future__ import annotations

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})


def commits(statements: list[str]) -> int:
    """How many transactions the traced statements committed."""
    count, in_tx = 0, False
    for sql in statements:
        head = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if head == "BEGIN":
            in_tx = True
        elif head in ("COMMIT", "END"):
            in_tx = False
            count += 1
        elif head == "ROLLBACK" and not sql.upper().startswith("ROLLBACK TO"):
            in_tx = False
        elif head in _WRITES and not in_tx:
            count += 1
    return count

