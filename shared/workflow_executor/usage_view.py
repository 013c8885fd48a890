"""How an execution's spending reads: live (summed from its step records while it runs, since the
execution's own total is written when it finishes) and as one line for people."""

from __future__ import annotations

from .models import Execution, Usage


def live_usage(ex: Execution) -> Usage:
    """The execution's usage: its stored total once finished, else the sum of its finished steps."""
    if ex.finished or not ex.steps:
        return ex.usage
    total = Usage()
    for rec in ex.steps.values():
        if rec.usage is not None:
            total = total.add(rec.usage)
    return total


def usage_line(u: Usage) -> str | None:
    """'usage: 1,234 prompt + 56 completion tokens, $0.0012' (None when no LLM was used)."""
    if not (u.prompt_tokens or u.completion_tokens):
        return None
    return (f"usage: {u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens, "
            f"{dollars(u.cost_usd)}")


def dollars(cost_usd: float) -> str:
    """A cost for people: '$1.25', '$0.0123', and small agent runs in full ('$0.000035', not
    '$0.0000')."""
    if cost_usd >= 1:
        return f"${cost_usd:,.2f}"
    if cost_usd >= 0.01:
        return f"${cost_usd:.4f}"
    return "$" + (f"{cost_usd:.8f}".rstrip("0").rstrip(".") or "0")
