"""The condition evaluator refuses everything outside its small language, before it runs."""

from __future__ import annotations

import pytest
from workflow_executor.spec.expr import ExpressionError, evaluate
from workflow_executor.spec.refs import Scope

SCOPE = Scope({"n": 3, "tags": ["a", "b"]}, {"check": {"valid": True, "score": 0.7}})


@pytest.mark.parametrize(("text", "expected"), [
    ("${check.output.valid} == true", True),
    ("check.output.score > 0.5 and not false", True),
    ("input.n * 2 + 1", 7),
    ("'b' in input.tags", True),
    ("len(input.tags) == 2 and lower('A') == 'a'", True),
    ("null is None", True),
    ("'ok' if input.n > 2 else 'no'", "ok"),
])
def test_the_small_language_evaluates(text: str, expected: object) -> None:
    assert evaluate(text, SCOPE) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "input.__class__",
    "(lambda: 1)()",
    "[x for x in input.tags]",
    "open('/etc/passwd')",
    "getattr(input, 'n')",
    "'a' * 99999999999",
    "input.tags * 100000",
    "2 ** 1000000",
])
def test_anything_else_is_refused_with_invalid_expression(text: str) -> None:
    with pytest.raises(ExpressionError) as err:
        evaluate(text, SCOPE)
    assert err.value.code == "invalid_expression"
