"""How spending reads for people: small agent runs must not show as $0.0000."""

from __future__ import annotations

import pytest
from workflow_executor.models import Usage
from workflow_executor.usage_view import dollars, usage_line


@pytest.mark.parametrize(("cost", "shown"), [
    (0.0, "$0"), (3.5e-05, "$0.000035"), (0.00012, "$0.00012"), (0.0123, "$0.0123"),
    (1.5, "$1.50"), (1234.5, "$1,234.50"),
])
def test_a_cost_is_shown_with_the_digits_that_matter(cost: float, shown: str) -> None:
    assert dollars(cost) == shown


def test_the_usage_line_shows_a_small_agent_runs_cost() -> None:
    line = usage_line(Usage(prompt_tokens=80, completion_tokens=39, cost_usd=0.0000354))
    assert line == "usage: 80 prompt + 39 completion tokens, $0.0000354"
    assert usage_line(Usage(cpu_s=1.0)) is None
