"""Checks a step's output when the step returns, before anything tries to checkpoint it: it
must be JSON data by the one rule of ``spec.jsondata`` (string keys, UTF-8 text, nesting at most
64 levels) and no larger than the operator's WFX_MAX_OUTPUT_BYTES. A step whose output
fails the check fails with a clear error; the run goes on by its routing (or fails), and the
store never sees a value it cannot write."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, WfxError
from ..spec.jsondata import NotJsonData, encode


class OutputRejected(WfxError):
    """Not retried: the same code would return the same value."""

    code = "invalid_output"


def check_input(value: Any) -> None:
    """An execution's input must be storable too (it comes from the request): InvalidArgument
    with the field ``input_data`` otherwise."""
    try:
        encode(value, "input_data")
    except NotJsonData as bad:
        raise InvalidArgument(f"{bad.where} {bad.what}", fix=bad.fix, field="input_data") from None


def check_output(value: Any, step_id: str, max_bytes: int) -> int:
    """Raise OutputRejected naming the step, the problem and the limit; return the size of
    ``value``'s JSON text if it is storable. Runs for every step's output: the work is done by
    the same serializer the stores use (``spec.jsondata``, the one rule for stored data)."""
    if value is None or value is True or value is False or type(value) is float:
        return 5  # the common outputs of no-op and scalar steps pay nothing more
    try:
        data = encode(value, "output")
    except NotJsonData as bad:
        raise _reject(step_id, f"{bad.where} {bad.what}", bad.fix) from None
    if len(data) > max_bytes:
        raise _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                      "return less (store large data in a file and return its path), or the operator "
                      "raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)
    return len(data)


def too_large(step_id: str, max_bytes: int) -> OutputRejected:
    """The error for outputs that add up (a loop's iterations) past ``max_bytes``."""
    return _reject(step_id, f"output is larger than the limit of {max_bytes} bytes",
                   "return less per iteration, or the operator raises WFX_MAX_OUTPUT_BYTES", limit=max_bytes)


def _reject(step_id: str, what: str, fix: str, **details: Any) -> OutputRejected:
    return OutputRejected(f"step '{step_id}': {what}", fix=fix, step=step_id, **details)
