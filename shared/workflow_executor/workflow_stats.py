"""Per-workflow metrics from the hourly aggregates (``ports.StatsStore``): what one finished run
adds (runs, status, a duration histogram, tokens, cost) and the summaries the web view shows
(success rate, p50/p95, tokens and cost over a window, a count per time slice for a chart).
Pure functions: no store, no clock."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .models import ExecutionStatus, Usage
from .ports import WorkflowHour

# Durations go into log-spaced buckets: 4 per doubling (each ~19 % wide), from 1 ms up.
PER_DOUBLING = 4
WINDOWS = {"24h": 24, "7d": 7 * 24}


def hour_of(ts_s: float) -> int:
    """The UTC hour of a Unix time, as ``WorkflowHour.hour`` counts them."""
    return int(ts_s // 3600)


def _bucket(duration_s: float) -> int:
    return max(0, math.ceil(math.log2(max(duration_s * 1000.0, 1.0)) * PER_DOUBLING))


def _bucket_top_s(bucket: int) -> float:
    return float(2.0 ** (bucket / PER_DOUBLING) / 1000.0)


def counts_for(status: ExecutionStatus, duration_s: float | None, usage: Usage | None) -> dict[str, float]:
    """What one run that ended with ``status`` adds to its workflow's hour."""
    out = {"runs": 1.0, f"st_{status.value}": 1.0}
    if duration_s is not None and duration_s >= 0:
        out["dur_sum"] = duration_s
        out[f"d{_bucket(duration_s)}"] = 1.0
    if usage is not None:
        for name, value in (("tok_in", usage.prompt_tokens), ("tok_out", usage.completion_tokens),
                            ("cost", usage.cost_usd)):
            if value:
                out[name] = float(value)
    return out


@dataclass
class Summary:
    """One workflow over a window: totals, quantiles from the histogram, a count per slice."""

    runs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    p50_s: float | None = None
    p95_s: float | None = None
    series: list[tuple[int, int]] = field(default_factory=list)  # (runs, failed) per slice, oldest first

    @property
    def success_rate(self) -> float | None:
        """Completed over finished runs, None before any."""
        return self.statuses.get("completed", 0) / self.runs if self.runs else None


def quantile(histogram: Mapping[int, float], q: float) -> float | None:
    """The upper edge of the bucket holding quantile ``q`` (0..1) of the durations, in seconds."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    seen = 0.0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= q * total:
            return _bucket_top_s(bucket)
    return _bucket_top_s(max(histogram))


def summarize(rows: Iterable[WorkflowHour], now_s: float, hours: int, slices: int = 24) -> dict[str, Summary]:
    """Each workflow's summary over the ``hours`` before ``now_s`` (the current hour included),
    its chart cut into ``slices`` equal slices of whole hours."""
    last = hour_of(now_s)
    first = last - hours + 1
    per_slice = max(1, hours // slices)
    out: dict[str, Summary] = {}
    hists: dict[str, dict[int, float]] = {}
    for row in rows:
        if not first <= row.hour <= last:
            continue
        s = out.setdefault(row.workflow, Summary(series=[(0, 0)] * (hours // per_slice)))
        c = row.counts
        s.runs += int(c.get("runs", 0))
        s.tokens_in += int(c.get("tok_in", 0))
        s.tokens_out += int(c.get("tok_out", 0))
        s.cost_usd += c.get("cost", 0.0)
        for name, value in c.items():
            if name.startswith("st_"):
                s.statuses[name[3:]] = s.statuses.get(name[3:], 0) + int(value)
            elif name[:1] == "d" and name[1:].isdigit():
                h = hists.setdefault(row.workflow, {})
                h[int(name[1:])] = h.get(int(name[1:]), 0.0) + value
        k = min((row.hour - first) // per_slice, len(s.series) - 1)
        runs, failed = s.series[k]
        s.series[k] = (runs + int(c.get("runs", 0)), failed + int(c.get("runs", 0) - c.get("st_completed", 0)))
    for name, s in out.items():
        s.p50_s = quantile(hists.get(name, {}), 0.5)
        s.p95_s = quantile(hists.get(name, {}), 0.95)
    return out
