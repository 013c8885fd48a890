"""Bad documents through the public API: each a clear error with a stable code, and nothing
stored or disturbed (the registry and the executions stay as they were)."""

from __future__ import annotations

import pytest
from workflow_executor.api import Executor
from workflow_executor.errors import WfxError

GOOD = "workflows: {ok: {steps: [{id: a, function: builtins.echo, args: {value: 1}}]}}"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "workflows: {w: {steps: [{id: s, function: noop}]}}\n"

CASES = {
    "malformed yaml": ("workflows: {w: {steps: [\n", "invalid_workflow"),
    "unknown step reference": ("workflows: {w: {steps: [{id: a, function: builtins.noop, output: {to: b}}]}}",
                               "invalid_workflow"),
    "50 MB document": ("x: '" + "y" * (50 * 1024 * 1024) + "'\n", "limit_exceeded"),
    "alias bomb": (BOMB, "limit_exceeded"),
    "function outside the allowed modules": (
        "workflows: {w: {steps: [{id: a, function: subprocess.run, args: {args: [ls]}}]}}", "invalid_workflow"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_document_is_rejected_with_its_code_and_nothing_is_stored(wfx: Executor, case: str) -> None:
    text, code = CASES[case]
    wfx.register(GOOD)
    first = wfx.run("ok")
    before = ([w.model_dump() for w in wfx.workflows()], [e.id for e in wfx.executions().items])
    with pytest.raises(WfxError) as err:
        wfx.run(workflow=text)
    assert err.value.code == code
    assert ([w.model_dump() for w in wfx.workflows()], [e.id for e in wfx.executions().items]) == before
    assert wfx.status(first.id).result == 1
    assert wfx.run("ok").result == 1
