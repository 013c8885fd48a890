"""The statement check of ``sql_database``: one statement, read-only unless the database accepts
writes, never DDL, ATTACH, PRAGMA or transaction control. It reads the SQL as tokens (comments,
strings and quoted names skipped), so a keyword inside a string literal is no false alarm.

It is one of three layers (the database is also opened read-only, and its transaction rolled
back); it refuses, it never rewrites.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from ...errors import QueryNotAllowed

READ_FIRST = frozenset({"SELECT", "WITH", "VALUES", "EXPLAIN", "TABLE"})
WRITE_FIRST = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "UPSERT", "INTO"})
# never inside a statement, on any database (a statement must also start with READ_FIRST or
# WRITE_FIRST, which keeps out transaction control, SET, COPY, CALL ... as a statement)
NEVER = frozenset({"ATTACH", "DETACH", "PRAGMA", "VACUUM", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT",
                   "REVOKE", "REINDEX"})
# functions that reach files, other servers or the server's own state
NEVER_FUNCTIONS = frozenset({"LOAD_EXTENSION", "READFILE", "WRITEFILE", "EDIT", "FTS3_TOKENIZER",
                             "PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_LS_DIR", "PG_STAT_FILE", "LO_IMPORT",
                             "LO_EXPORT", "LO_FROM_BYTEA", "LO_PUT", "DBLINK", "DBLINK_EXEC", "DBLINK_CONNECT",
                             "SET_CONFIG", "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_RELOAD_CONF",
                             "PG_ROTATE_LOGFILE", "QUERY_TO_XML", "QUERY_TO_XML_AND_XMLSCHEMA",
                             "CURSOR_TO_XML", "PG_ADVISORY_LOCK", "LOAD_FILE", "SLEEP", "BENCHMARK"})
TABLE_AFTER = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE"})

def _pattern(dialect: str) -> re.Pattern[str]:
    """The token pattern for ``dialect``: where the database reads something as a string or
    comment, so must this (MySQL: backslash escapes and ``#``; PostgreSQL: ``$tag$`` strings)."""
    mysql = dialect in ("mysql", "mariadb")
    body = r"(?:[^'\\]|\\.|'')*" if mysql else r"(?:[^']|'')*"
    dbody = r'(?:[^"\\]|\\.|"")*' if mysql else r'(?:[^"]|"")*'
    dollar = r"| (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)" if dialect == "postgresql" else ""
    hash_comment = r"|\#[^\n]*" if mysql else ""
    return re.compile(rf"""
        (?P<space>\s+)
      | (?P<exec>/\*[!+])
      | (?P<comment>--[^\n]*(?:\n|\Z)|/\*.*?\*/{hash_comment})
      | (?P<string>'{body}'|[EeXxBbNn]'(?:[^'\\]|\\.|'')*')
      {dollar}
      | (?P<quoted>"{dbody}"|`[^`]*`|\[[^\]]*\])
      | (?P<open>['"`\[]|/\*|\$[A-Za-z_]*\$)
      | (?P<param>[:@$?][A-Za-z0-9_]*|%\([A-Za-z_][A-Za-z0-9_]*\)s)
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<semi>;)
      | (?P<other>.)
    """, re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str   # word, quoted, string, param, semi, other
    text: str


def tokens(sql: str, dialect: str = "sqlite") -> list[Token]:
    """``sql`` as tokens, without whitespace and comments. Errors: QueryNotAllowed for an
    unterminated string, quoted name or comment, and for executable comments (``/*! */``)."""
    out = []
    for m in _pattern(dialect).finditer(sql):
        kind = m.lastgroup or "other"
        if kind == "tag":
            kind = "dollar"
        if kind in ("space", "comment"):
            continue
        if kind in ("open", "exec"):
            raise QueryNotAllowed(f"the query has an unterminated or executable quote/comment at "
                                  f"'{m.group(0)}'", reason="unterminated",
                                  fix="close every string, quoted name and comment; no /*! */ comments")
        out.append(Token("string" if kind == "dollar" else kind, m.group(0)))
    return out


def check_statement(sql: str, writable: bool, allowed_operations: Collection[str] | None = None,
                    allowed_tables: Collection[str] | None = None, dialect: str = "sqlite") -> str:
    """The statement's operation (``SELECT``, ``INSERT`` ...) when it may run here.

    ``writable``: the operator lets this database take INSERT/UPDATE/DELETE; ``allowed_operations``
    and ``allowed_tables`` (the tool's own, upper/lower case free) can only narrow that.
    Errors: QueryNotAllowed naming what was refused (``reason`` in its details)."""
    toks = tokens(sql, dialect)
    semis = [i for i, t in enumerate(toks) if t.kind == "semi"]
    if semis and any(t.kind != "semi" for t in toks[semis[0]:]):
        raise QueryNotAllowed("the query holds more than one statement", reason="multiple_statements",
                              fix="send one statement per call (no ';' between statements)")
    toks = [t for t in toks if t.kind != "semi"]
    words = [(i, t.text.upper()) for i, t in enumerate(toks) if t.kind == "word"]
    if not words or (toks[0].kind != "word" and toks[0].text != "("):
        raise QueryNotAllowed("the query does not start with a SQL statement", reason="not_a_statement",
                              fix="send one SELECT (or, where writes are allowed, INSERT/UPDATE/DELETE)")
    first = words[0][1]
    for i, word in words:
        follows_paren = i + 1 < len(toks) and toks[i + 1].text == "("
        if word in NEVER_FUNCTIONS and follows_paren:
            raise QueryNotAllowed(f"the function {word.lower()}() is not allowed here", reason="function",
                                  fix="use plain queries over the database's tables")
        if word in NEVER and not follows_paren:
            raise QueryNotAllowed(f"{word} statements are not allowed on this database tool", reason=word.lower(),
                                  fix="only SELECT (and INSERT/UPDATE/DELETE where the operator allows writes) "
                                      "can run; schema changes, ATTACH and PRAGMA never do")
        if word in WRITE_WORDS and not (word == "REPLACE" and follows_paren) and not writable:
            raise QueryNotAllowed(f"this database is read-only ({word} writes)", reason="read_only",
                                  fix="query with SELECT; the operator can allow writes with WFX_SQL_WRITE=<name>")
    if first not in READ_FIRST | WRITE_FIRST:
        raise QueryNotAllowed(f"{first} statements are not allowed on this database tool", reason=first.lower(),
                              fix="send one SELECT (or, where writes are allowed, INSERT/UPDATE/DELETE)")
    op = "SELECT" if first in ("WITH", "VALUES", "TABLE", "EXPLAIN") else first
    if first == "WITH":  # a CTE in front of a write is that write
        op = next((w for i, w in words if w in WRITE_FIRST
                   and not (w == "REPLACE" and i + 1 < len(toks) and toks[i + 1].text == "(")), op)
    if allowed_operations is not None and op not in {o.upper() for o in allowed_operations}:
        raise QueryNotAllowed(f"{op} is not among this tool's allowed_operations", reason="operation",
                              fix=f"use one of: {', '.join(sorted(allowed_operations)) or 'none'}")
    if allowed_tables is not None:
        wanted = {t.lower() for t in allowed_tables}
        for name in referenced_tables(toks):
            if name.lower() not in wanted:
                raise QueryNotAllowed(f"table '{name[:100]}' is not among this tool's allowed_tables",
                                      reason="table", fix=f"query only: {', '.join(sorted(wanted)) or 'none'}")
    return op


def referenced_tables(toks: list[Token]) -> list[str]:
    """The names after FROM/JOIN/INTO/UPDATE/TABLE (the last part of a dotted name, unquoted)."""
    out = []
    for i, t in enumerate(toks[:-1]):
        if t.kind == "word" and t.text.upper() in TABLE_AFTER and toks[i + 1].kind in ("word", "quoted"):
            j = i + 1
            while j + 2 < len(toks) and toks[j + 1].text == "." and toks[j + 2].kind in ("word", "quoted"):
                j += 2
            out.append(toks[j].text.strip('"`[]'))
    return out


_PYFORMAT = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")


def named_params(sql: str, dialect: str = "sqlite") -> str:
    """LangSwarm's ``%(name)s`` placeholders (outside strings) as ``:name`` (SQLAlchemy's)."""
    out = []
    for m in _pattern(dialect).finditer(sql):
        text = m.group(0)
        if m.lastgroup == "param" and text.startswith("%("):
            text = ":" + _PYFORMAT.sub(r"\1", text)
        out.append(text)
    return "".join(out)
