"""The one rule for JSON data that the engine stores, hashes and sends: dicts with string keys,
lists, text that encodes as UTF-8, numbers (integers of at most 4000 digits), booleans and null,
nested at most MAX_DEPTH levels. Workflow documents, run inputs and step outputs all keep it."""

from __future__ import annotations

import re
from typing import Any

import pydantic_core

MAX_DEPTH = 64  # levels of nested dicts/lists; workflows need ~10
# Python refuses to turn an int of more than 4300 digits into text or back (json.loads).
_MAX_INT_BITS = 13_287  # 4000 decimal digits
_MAX_INT_DIGITS = 4000
_LONG_NUMBER = re.compile(rb"\d{%d}" % _MAX_INT_DIGITS)


class NotJsonData(ValueError):
    """``where`` (a path such as ``output.items[2]``) ``what`` (``is nested deeper than 64
    levels``); ``fix`` says what to send instead; ``too_deep`` marks the depth limit."""

    def __init__(self, where: str, what: str, fix: str, *, too_deep: bool = False) -> None:
        super().__init__(f"{where} {what}")
        self.where = where
        self.what = what
        self.fix = fix
        self.too_deep = too_deep


def encode(value: Any, root: str) -> bytes:
    """``value``'s compact JSON text, by the serializer the stores use (pydantic's, in Rust);
    ``root`` names ``value`` in errors. The Python walk that names the unfit part only runs when
    serializing fails or the text has enough brackets to be too deep.
    Errors: NotJsonData naming the first unfit part."""
    try:
        data = pydantic_core.to_json(value)
    except (pydantic_core.PydanticSerializationError, ValueError, RecursionError):
        _explain(value, root)
        raise NotJsonData(root, "cannot be stored as JSON", "use plain JSON data") from None
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise _too_deep(root)
    if len(data) > _MAX_INT_DIGITS and _LONG_NUMBER.search(data):
        _explain(value, root)  # digits in a string are fine; an integer that long cannot be read back
    return data


def _too_deep(root: str) -> NotJsonData:
    return NotJsonData(root, f"is nested deeper than {MAX_DEPTH} levels", "use a flatter value", too_deep=True)


def _deeper_than(value: Any, limit: int) -> bool:
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        v, depth = todo.pop()
        if depth >= limit:
            return True
        if isinstance(v, dict):
            todo.extend((x, depth + 1) for x in v.values() if isinstance(x, dict | list | tuple))
        elif isinstance(v, list | tuple):
            todo.extend((x, depth + 1) for x in v if isinstance(x, dict | list | tuple))
    return False


def _explain(value: Any, root: str) -> None:
    """Find the first unfit part of ``value`` and raise NotJsonData naming it."""
    if _deeper_than(value, MAX_DEPTH):
        raise _too_deep(root)  # checked first: the walk below then never goes too deep
    todo: list[tuple[Any, str]] = [(value, root)]
    while todo:
        v, where = todo.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise NotJsonData(where, "is text that is not valid Unicode (a lone surrogate)",
                                  "use text that encodes as UTF-8 (no unpaired \\ud800-\\udfff escapes)") from None
        elif v is None or isinstance(v, bool | float):
            pass
        elif isinstance(v, int):
            if v.bit_length() > _MAX_INT_BITS:
                raise NotJsonData(where, "is an integer of more than 4000 digits", "write it as a string")
        elif isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise NotJsonData(where or "<document>", f"has a key of type {type(k).__name__} ({k!r:.40})",
                                      "use string keys")
                todo.append((item, f"{where}.{k[:40]}" if where else k[:40]))
        elif isinstance(v, list | tuple):
            todo.extend((item, f"{where}[{i}]") for i, item in enumerate(v))
        else:
            raise NotJsonData(where, f"is a {type(v).__name__}, which cannot be stored as JSON",
                              "use dicts, lists, strings, numbers, booleans or null")
