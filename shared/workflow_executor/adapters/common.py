"""Pieces every store adapter shares: content hashes, list cursors, and the errors that the
contract says each adapter raises the same way."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from ..errors import Conflict, InvalidArgument
from ..models import ErrorInfo

MAX_PAGE = 500


def workflow_hash(document: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON (sorted keys, no spaces) of a workflow document."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def encode_cursor(created_at_s: float, execution_id: str) -> str:
    """Opaque list cursor: the (created_at_s, id) of the last item of a page."""
    return base64.urlsafe_b64encode(f"{created_at_s!r}|{execution_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Inverse of ``encode_cursor``. Raises InvalidArgument for a cursor we did not issue."""
    try:
        created, _, execution_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return float(created), execution_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument("cursor is not valid", fix="pass next_cursor from the previous page") from exc


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be 1..{MAX_PAGE}, got {limit}", fix=f"ask for 1 to {MAX_PAGE} per page")


def frozen_error(execution_id: str, status: str) -> Conflict:
    return Conflict(
        f"execution {execution_id} is already {status}", fix="a finished execution never changes; rerun it"
    )


def cancelled_error() -> ErrorInfo:
    return ErrorInfo(code="cancelled", message="cancelled before it started")
