"""Searching executions (ExecutionQuery's time range, id prefix and error text), the same for
every store: the checks, the words of an error, and the predicate a store applies in memory
(the memory store for everything, Firestore for what its indexes leave over)."""

from __future__ import annotations

import re

from ..errors import InvalidArgument
from ..models import Execution
from ..ports import ExecutionQuery
from .common import check_limit

ID_PREFIX_MIN = 4  # Firestore finds a prefix by its first four characters (the ``id_head`` field)
MAX_ERROR_WORDS = 64  # the words of one error kept for Firestore's array-contains search
MAX_WORD = 64
_WORD = re.compile(r"[a-z0-9]+")


def check_query(query: ExecutionQuery) -> None:
    """Errors: InvalidArgument for a limit out of range, an id prefix under four characters, an
    error text with no word in it, or a time range that ends before it starts."""
    check_limit(query.limit)
    if query.id_prefix is not None and len(query.id_prefix) < ID_PREFIX_MIN:
        raise InvalidArgument(f"id_prefix must have at least {ID_PREFIX_MIN} characters, got {query.id_prefix!r}",
                              fix=f"give the first {ID_PREFIX_MIN} or more characters of the execution id")
    if query.error_text is not None and not words(query.error_text):
        raise InvalidArgument("error_text has no word to search for",
                              fix="give a word of the error, such as its code (step_failed) or a word of its message")
    if None not in (query.created_from_s, query.created_to_s) and query.created_to_s < query.created_from_s:  # type: ignore[operator]
        raise InvalidArgument("the time range ends before it starts", fix="swap the two times")


def words(text: str) -> list[str]:
    """The lower-case words (letters and digits) of ``text``, in order, without repeats."""
    return list(dict.fromkeys(w[:MAX_WORD] for w in _WORD.findall(text.lower())))


def summary(ex: Execution) -> str | None:
    """An execution's error as one lower-case line ("code: message"), None without an error."""
    return f"{ex.error.code}: {ex.error.message}".lower() if ex.error is not None else None


def error_words(ex: Execution) -> list[str]:
    """What Firestore stores to find ``ex`` by error text: the words of its error code and message."""
    found = summary(ex)
    return words(found)[:MAX_ERROR_WORDS] if found else []


def id_head(execution_id: str) -> str:
    return execution_id[:ID_PREFIX_MIN]


def matches(ex: Execution, query: ExecutionQuery, *, whole_words: bool = False) -> bool:
    """Whether ``ex`` passes the search filters of ``query`` (time range, id prefix, error text).
    The error text matches when each of its words is in the error's code or message: as part of
    a word, or with ``whole_words`` (Firestore's stored words) as a whole word."""
    at = ex.created_at_s
    if (query.created_from_s is not None and at < query.created_from_s) or (
            query.created_to_s is not None and at > query.created_to_s):
        return False
    if query.id_prefix is not None and not ex.id.startswith(query.id_prefix):
        return False
    if query.error_text is not None:
        found = summary(ex)
        if found is None:
            return False
        have = set(error_words(ex)) if whole_words else None
        return all((w in have) if have is not None else (w in found) for w in words(query.error_text))
    return True
