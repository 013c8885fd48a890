"""The condition evaluator is bounded: by the size of every value it builds, the work it does,
the nesting depth and its wall time, so a short hostile condition cannot hold the GIL.
A hypothesis fuzz suite asserts time and memory bounds per evaluation."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_executor.errors import WfxError
from workflow_executor.spec.expr import ExpressionError, evaluate
from workflow_executor.spec.refs import RenderBudget, RenderTooLarge, Scope, render

SCOPE = Scope({"xs": list(range(50)), "s": "abc" * 100}, {"a": {"items": [[0] * 100] * 100, "n": 7}})


@pytest.mark.parametrize("text", [
    # the report's 50-byte bomb (a smaller factor, so the unbounded evaluator ends too)
    "[[[0]*10000]*10000]*1 == [[[0]*10000]*10000]*1",
    "[[0]*10000]*10000 == [[0]*10000]*10000",
    "str([[0]*1000]*1000) == ''",
    "[${a.items}]*100 == [${a.items}]*100",
    "'%099999999d' % 1 == ''",
    "not " * 200 + "true",
])
def test_a_hostile_condition_is_refused_quickly(text: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ExpressionError) as err:
        evaluate(text, SCOPE)
    assert err.value.code == "invalid_expression"
    assert time.perf_counter() - t0 < 0.5


def test_ordinary_conditions_over_real_outputs_still_evaluate() -> None:
    assert evaluate("len(${a.items}) == 100 and ${a.n} > 3", SCOPE) is True
    assert evaluate("${a.items} == ${a.items} and input.xs + [1] != input.xs", SCOPE) is True
    assert evaluate("'c' in input.s and upper(input.s)[0] == 'A'", SCOPE) is True


ATOMS = st.sampled_from(["0", "1", "10000", "999999", "'ab'", "[0]", "input.xs", "input.s", "${a.items}",
                         "${a.n}", "true", "null", "[]", "''"])


def _combine(kids: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(kids, kids)
    return st.one_of(
        pair.map(lambda p: f"({p[0]}) * ({p[1]})"),
        pair.map(lambda p: f"({p[0]}) + ({p[1]})"),
        pair.map(lambda p: f"({p[0]}) == ({p[1]})"),
        pair.map(lambda p: f"({p[0]}) in ({p[1]})"),
        pair.map(lambda p: f"[{p[0]}, {p[1]}]"),
        pair.map(lambda p: f"({p[0]}) % ({p[1]})"),
        kids.map(lambda k: f"str({k})"),
        kids.map(lambda k: f"max({k})"),
        kids.map(lambda k: f"len({k})"),
        kids.map(lambda k: f"not ({k})"),
    )


EXPRS = st.recursive(ATOMS, _combine, max_leaves=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS)
def test_any_expression_ends_within_time_and_memory_bounds(text: str) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        evaluate(text, SCOPE)
    except WfxError:
        pass  # a clear refusal (or a type error turned into one) is fine; a crash of another kind is not
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 2.0, text      # MAX_SECONDS is 1 s; tracemalloc slows Python down
    assert peak < 64 * 1024 * 1024, text


PIECES = st.sampled_from(["${a.items}", "${input.s}", "${user_input}", "${a.n}", "text ", "${input.xs}", "$", "{"])
TEMPLATES = st.recursive(
    st.lists(PIECES, min_size=1, max_size=120).map("".join),
    lambda kids: st.one_of(st.lists(kids, max_size=30), st.dictionaries(st.sampled_from("abcdef"), kids, max_size=6)),
    max_leaves=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEMPLATES)
def test_any_interpolation_ends_within_time_and_memory_bounds(template: object) -> None:
    limit = 200_000
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        render(template, SCOPE, RenderBudget(limit))
    except WfxError:
        pass
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 40 * limit  # the text kept is bounded by the budget (plus one piece in flight)


def test_repeating_a_reference_is_refused_at_the_render_limit() -> None:
    with pytest.raises(RenderTooLarge) as err:
        render("${input.s}" * 1000, SCOPE, RenderBudget(100_000))
    assert err.value.code == "limit_exceeded" and err.value.details["limit"] == 100_000
    assert len(render("${input.s}" * 100, SCOPE, RenderBudget(100_000))) == 30_000
