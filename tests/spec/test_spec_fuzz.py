"""Property: junk in, only SpecError / LimitExceeded out (never a crash of another kind)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_executor.errors import LimitExceeded, SpecError
from workflow_executor.spec import check, load_object, load_text

KEYS = ["workflows", "agents", "tools", "triggers", "steps", "id", "agent", "function", "tool", "input",
        "args", "params", "invoke_workflow", "output", "to", "condition", "if", "then", "else", "switch",
        "cases", "default", "exists", "depends_on", "fan_key", "is_fan_in", "loop", "for_each", "until",
        "var", "max", "body", "retry", "max_attempts", "timeout", "topic", "type", "step", "main_workflow"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["a", "b", "user", "${a.output}", "${user_input}", "${", "${x[", "f", "1 >", "true"]),
    st.text(max_size=8),
)
TREES = st.recursive(
    SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=4),
                           st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), kids, max_size=5)),
    max_leaves=40,
)
TOKENS = [*"abc:-[]{},&*!|>'\"#%@`\n\t $.0123", *KEYS, "\n  ", "\n    - ", ": ", "&x ", "*x", "!!str "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


def survive(load: Any, arg: Any) -> None:
    try:
        doc = load(arg)
    except (SpecError, LimitExceeded):
        return
    check(doc, function_checker=lambda f: None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH)
def test_random_yaml_like_text_only_ever_raises_spec_errors(text: str) -> None:
    survive(load_text, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_random_documents_only_ever_raise_spec_errors(obj: Any) -> None:
    survive(load_object, {"workflows": obj} if isinstance(obj, dict | list) else obj)
    survive(load_text, yaml.safe_dump(obj))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), TREES, max_size=6), min_size=1, max_size=5))
def test_random_step_lists_only_ever_raise_spec_errors(steps: list[dict[str, Any]]) -> None:
    survive(load_object, {"workflows": {"w": steps}, "agents": [{"id": "a"}]})
