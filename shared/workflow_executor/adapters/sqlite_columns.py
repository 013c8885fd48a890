"""Columns added to the SQLite file after its tables were first made: added in place when an older
file opens (adding a column is compatible both ways, so the schema version stays). Called by
sqlite_base.connect inside its opening transaction."""

from __future__ import annotations

import sqlite3

# The error of a finished run as one lower-case line ("code: message"), for the executions
# list's error-text search; computed from the row's JSON on read, so no write path changes.
ERROR_TEXT = ("error_text TEXT GENERATED ALWAYS AS (lower(json_extract(doc, '$.error.code') || ': '"
              " || json_extract(doc, '$.error.message'))) VIRTUAL")
_ADDED = (
    ("workflows", "source_text", "source_text TEXT"),  # the YAML as the user wrote it
    ("executions", "error_text", ERROR_TEXT),
)
_INDEXES = (
    # newest first over the runs that failed: an error-text search never walks the ones that did not
    "CREATE INDEX IF NOT EXISTS executions_errors ON executions (created_at_s, id) WHERE error_text IS NOT NULL",
)


def migrate(db: sqlite3.Connection) -> None:
    """Add each missing column (and its index) to the tables that already exist."""
    for table, column, definition in _ADDED:
        have = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")
    for statement in _INDEXES:
        db.execute(statement)
