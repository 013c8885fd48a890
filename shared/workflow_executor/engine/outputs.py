"""Checks a step's output when the step returns, before anything tries to checkpoint it: it
must be JSON data (dicts with string keys, lists, strings, numbers, booleans, null), no deeper
than MAX_DEPTH and no larger than the operator's WFX_MAX_OUTPUT_BYTES. A step whose output
fails the check fails with a clear error; the run goes on by its routing (or fails), and the
store never sees a value it cannot write."""

from __future__ import annotations

import re
from typing import Any

import pydantic_core

from ..errors import InvalidArgument, WfxError

MAX_DEPTH = 64
# Python refuses to turn an int of more than 4300 digits into text or back (json.loads).
_MAX_INT_BITS = 13_287  # 4000 decimal digits
_MAX_INT_DIGITS = 4000
_LONG_NUMBER = re.compile(rb"\d{%d}" % _MAX_INT_DIGITS)


class OutputRejected(WfxError):
    """Not retried: the same code would return the same value."""

    code = "invalid_output"


def check_input(value: Any) -> None:
    """An execution's input must be storable too (it comes from the request): InvalidArgument
    with the field ``input_data`` otherwise."""
    try:
        check_output(value, "input", 1 << 62)
    except OutputRejected as exc:
        raise InvalidArgument(exc.message.replace("step 'input': output", "input_data", 1), fix=exc.fix,
                              field="input_data") from None


def check_output(value: Any, step_id: str, max_bytes: int) -> int:
    """Raise OutputRejected naming the step, the problem and the limit; return the size of
    ``value``'s JSON text if it is storable. Runs for every step's output: the work is done by
    the same serializer the stores use (pydantic's, in Rust), and the depth walk only runs when
    the text has enough brackets to be too deep."""
    if value is None or value is True or value is False or type(value) is float:
        return 5  # the common outputs of no-op and scalar steps pay nothing more
    try:
        data = pydantic_core.to_json(value)
    except (pydantic_core.PydanticSerializationError, ValueError, RecursionError):
        _explain(value, step_id)
        raise _reject(step_id, "output cannot be stored as JSON", "return plain JSON data") from None
    if len(data) > max_bytes:
        raise _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                      "return less (store large data in a file and return its path), or the operator "
                      "raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise _reject(step_id, f"output is nested deeper than {MAX_DEPTH} levels", "return a flatter value")
    if len(data) > _MAX_INT_DIGITS and _LONG_NUMBER.search(data):
        _explain(value, step_id)  # digits in a string are fine; an integer that long cannot be read back
    return len(data)


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


def _explain(value: Any, step_id: str) -> None:
    """Find the first unfit part of ``value`` and raise OutputRejected naming it."""
    todo: list[tuple[Any, int, str]] = [(value, 0, "output")]
    while todo:
        v, depth, where = todo.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise _reject(step_id, f"{where} is text that is not valid Unicode (a lone surrogate)",
                              "return text that encodes as UTF-8") from None
        elif v is None or isinstance(v, bool | float):
            pass
        elif isinstance(v, int):
            if v.bit_length() > _MAX_INT_BITS:
                raise _reject(step_id, f"{where} is an integer of more than 4000 digits", "return it as a string")
        elif isinstance(v, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise _reject(step_id, f"{where} is nested deeper than {MAX_DEPTH} levels", "return a flatter value")
            if isinstance(v, dict):
                for k, item in v.items():
                    if not isinstance(k, str):
                        raise _reject(step_id, f"{where} has a key of type {type(k).__name__} ({k!r:.40})",
                                      "use string keys")
                    todo.append((item, depth + 1, f"{where}.{k[:40]}"))
            else:
                todo.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(v))
        else:
            raise _reject(step_id, f"{where} is a {type(v).__name__}, which cannot be stored as JSON",
                          "return dicts, lists, strings, numbers, booleans or null")


def too_large(step_id: str, max_bytes: int) -> OutputRejected:
    """The error for outputs that add up (a loop's iterations) past ``max_bytes``."""
    return _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                   "return less per iteration, or the operator raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)


def _reject(step_id: str, what: str, fix: str, **details: Any) -> OutputRejected:
    return OutputRejected(f"step '{step_id}': {what}", fix=fix, step=step_id, **details)
