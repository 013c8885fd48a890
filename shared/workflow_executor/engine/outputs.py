"""Checks a step's output when the step returns, before anything tries to checkpoint it: it
must be JSON data (dicts with string keys, lists, strings, numbers, booleans, null), no deeper
than MAX_DEPTH and no larger than the operator's WFX_MAX_OUTPUT_BYTES. A step whose output
fails the check fails with a clear error; the run goes on by its routing (or fails), and the
store never sees a value it cannot write."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, WfxError

MAX_DEPTH = 64
# Python refuses to turn an int of more than 4300 digits into text (which JSON needs).
_MAX_INT_BITS = 14_000


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
    """Raise OutputRejected naming the step, the problem and the limit; return the size if
    ``value`` is storable. The size is the JSON text's, give or take quoting and escapes."""
    if value is None or value is True or value is False or type(value) is float:
        return 5  # the common outputs of no-op and scalar steps pay nothing more
    size = 0
    todo: list[tuple[Any, int, str]] = [(value, 0, "output")]
    while todo:
        v, depth, where = todo.pop()
        if isinstance(v, str):
            size += len(v) + 2
            if not v.isascii():
                try:
                    size += len(v.encode("utf-8")) - len(v)
                except UnicodeEncodeError:
                    raise _reject(step_id, f"{where} is text that is not valid Unicode (a lone surrogate)",
                                  "return text that encodes as UTF-8") from None
        elif v is None or isinstance(v, bool | float):
            size += 5
        elif isinstance(v, int):
            if v.bit_length() > _MAX_INT_BITS:
                raise _reject(step_id, f"{where} is an integer of more than 4000 digits",
                              "return it as a string")
            size += 20
        elif isinstance(v, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise _reject(step_id, f"{where} is nested deeper than {MAX_DEPTH} levels",
                              "return a flatter value")
            size += 2
            if isinstance(v, dict):
                for k, item in v.items():
                    if not isinstance(k, str):
                        raise _reject(step_id, f"{where} has a key of type {type(k).__name__} ({k!r:.40})",
                                      "use string keys")
                    size += len(k) + 4
                    todo.append((item, depth + 1, f"{where}.{k[:40]}"))
            else:
                todo.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(v))
        else:
            raise _reject(step_id, f"{where} is a {type(v).__name__}, which cannot be stored as JSON",
                          "return dicts, lists, strings, numbers, booleans or null")
        if size > max_bytes:
            raise _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                          "return less (store large data in a file and return its path), or the operator "
                          "raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)
    return size


def too_large(step_id: str, max_bytes: int) -> OutputRejected:
    """The error for outputs that add up (a loop's iterations) past ``max_bytes``."""
    return _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                   "return less per iteration, or the operator raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)


def _reject(step_id: str, what: str, fix: str, **details: Any) -> OutputRejected:
    return OutputRejected(f"step '{step_id}': {what}", fix=fix, step=step_id, **details)
