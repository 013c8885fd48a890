"""OpenTelemetry for finished runs (imported only when an OTLP endpoint is set): one trace per
execution with a span per step, per agent model turn (GenAI semantic conventions) and per tool
call, drawn from the stored records and the turn journal with their own start and end times;
and metrics (runs, durations, tokens, cost). Ids come from ``trace_ids``: one trace per run tree
across every process; a child run hangs under its parent's step."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .models import Execution, StepRecord
from .ports import ExecutionStore
from .trace_ids import span_id_of, trace_id_of

log = logging.getLogger(__name__)
FLUSH_MS = 5000


class _ChosenIds(IdGenerator):
    """Random ids unless the current thread chose the next ones (our derived ids)."""

    def __init__(self) -> None:
        self.next = threading.local()

    def generate_span_id(self) -> int:
        chosen: int | None = getattr(self.next, "span", None)
        self.next.span = None
        return chosen if chosen else random.getrandbits(64)

    def generate_trace_id(self) -> int:
        chosen: int | None = getattr(self.next, "trace", None)
        self.next.trace = None
        return chosen if chosen else random.getrandbits(128)


def _ns(ts_s: float | None, fallback: float) -> int:
    return int((ts_s if ts_s is not None else fallback) * 1e9)


class Telemetry:
    """A RunObserver (see ``observe``) that exports each finished run: spans over OTLP/HTTP (the
    exporters read the standard OTEL_EXPORTER_OTLP_* variables) or to ``spans`` (the Cloud Trace
    exporter of adapters/cloud_trace.py), metrics over OTLP unless ``metrics`` is False."""

    def __init__(self, store: ExecutionStore, service: str = "workflow-executor", *, spans: Any = None,
                 metrics: bool = True) -> None:
        self.store = store
        self.ids = _ChosenIds()
        resource = Resource.create({"service.name": service})
        self.provider = TracerProvider(resource=resource, id_generator=self.ids)
        if spans is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            spans = OTLPSpanExporter()
        self.provider.add_span_processor(BatchSpanProcessor(spans))
        self.tracer = self.provider.get_tracer("workflow_executor")
        readers = []
        if metrics:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=60_000))
        self.meters = MeterProvider(resource=resource, metric_readers=readers)
        meter = self.meters.get_meter("workflow_executor")
        self.runs = meter.create_counter("wfx.executions", unit="{execution}", description="finished runs")
        self.run_time = meter.create_histogram("wfx.execution.duration", unit="s", description="run wall time")
        self.step_time = meter.create_histogram("wfx.step.duration", unit="s", description="step wall time")
        self.tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                             description="tokens per model call")
        self.cost = meter.create_counter("wfx.cost", unit="USD", description="LLM cost")
        self.lock = threading.Lock()  # the chosen ids are per thread; spans of one run go out together

    def close(self) -> None:
        self.provider.shutdown()
        self.meters.shutdown()

    def finished(self, execution: Execution) -> None:
        """Export ``execution``'s trace and metrics, then flush (a function instance may be
        frozen as soon as it answers)."""
        ex = execution if execution.steps else (self.store.get(execution.id) or execution)
        with self.lock:
            self._trace(ex)
        self._metrics(ex)
        self.provider.force_flush(FLUSH_MS)
        self.meters.force_flush(FLUSH_MS)

    def _start(self, name: str, parent: Any, span_id: int | None, start_ns: int, **kw: Any) -> Any:
        self.ids.next.span = span_id
        return self.tracer.start_span(name, context=parent, start_time=start_ns, **kw)

    def _trace(self, ex: Execution) -> None:
        trace_id = trace_id_of(ex.id)
        end_s = ex.ended_at_s or ex.updated_at_s
        if ex.parent_id:  # under the parent's step span (exported when the parent finishes)
            up = SpanContext(trace_id, span_id_of(ex.parent_id, ex.parent_step), is_remote=True,
                             trace_flags=TraceFlags(TraceFlags.SAMPLED))
            parent = trace.set_span_in_context(NonRecordingSpan(up))
        else:
            self.ids.next.trace = trace_id
            parent = trace.set_span_in_context(trace.INVALID_SPAN)
        root = self._start(f"workflow {ex.workflow_name}", parent, span_id_of(ex.id), _ns(ex.created_at_s, end_s),
                           kind=SpanKind.INTERNAL, attributes={
                               "wfx.execution.id": ex.id, "wfx.workflow.name": ex.workflow_name,
                               "wfx.execution.mode": ex.mode.value, "wfx.execution.status": ex.status.value,
                               **({"wfx.execution.profile": ex.profile} if ex.profile else {}),
                               "gen_ai.usage.input_tokens": ex.usage.prompt_tokens,
                               "gen_ai.usage.output_tokens": ex.usage.completion_tokens,
                               "wfx.cost_usd": ex.usage.cost_usd})
        if ex.error is not None:
            root.set_status(Status(StatusCode.ERROR, f"{ex.error.code}: {ex.error.message}"[:500]))
        ctx = trace.set_span_in_context(root)
        for rec in sorted(ex.steps.values(), key=lambda r: r.seq):
            self._step(ex, rec, ctx, end_s)
        root.end(end_time=_ns(end_s, end_s))

    def _step(self, ex: Execution, rec: StepRecord, parent: Any, end_s: float) -> None:
        start = rec.started_at_s or ex.started_at_s or ex.created_at_s
        stop = rec.ended_at_s or end_s
        attrs: dict[str, Any] = {"wfx.step.id": rec.step_id, "wfx.step.status": rec.status.value,
                                 "wfx.step.attempts": rec.attempts, "wfx.step.reused": rec.reused}
        turns = [t for attempt in range(1, max(rec.attempts, 1) + 1)
                 for t in self.store.load_turns(ex.id, f"{rec.step_id}@{attempt}") if isinstance(t, dict)]
        if turns:
            attrs["gen_ai.operation.name"] = "invoke_agent"
            attrs["gen_ai.agent.name"] = rec.step_id
        if rec.usage is not None:
            attrs.update({"gen_ai.usage.input_tokens": rec.usage.prompt_tokens,
                          "gen_ai.usage.output_tokens": rec.usage.completion_tokens,
                          "wfx.cost_usd": rec.usage.cost_usd})
        span = self._start(("invoke_agent " if turns else "step ") + rec.step_id, parent,
                           span_id_of(ex.id, rec.step_id), _ns(start, start), attributes=attrs)
        if rec.error is not None:
            span.set_status(Status(StatusCode.ERROR, f"{rec.error.code}: {rec.error.message}"[:500]))
        ctx = trace.set_span_in_context(span)
        for turn in turns:
            self._turn(turn, ctx, start, stop)
        self.step_time.record(max(stop - start, 0.0), {"wfx.workflow.name": ex.workflow_name,
                                                       "wfx.step.id": rec.step_id})
        span.end(end_time=_ns(stop, stop))

    def _turn(self, turn: dict[str, Any], parent: Any, start: float, stop: float) -> None:
        began, ended = turn.get("started_at_s") or start, turn.get("ended_at_s") or stop
        if turn.get("kind") == "model":
            u = turn.get("usage") or {}
            model = str(turn.get("model") or "")
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": str(turn.get("provider") or "openai"),
                     "gen_ai.request.model": model, "gen_ai.response.model": model,
                     "gen_ai.usage.input_tokens": int(u.get("prompt_tokens", 0)),
                     "gen_ai.usage.output_tokens": int(u.get("completion_tokens", 0)),
                     "gen_ai.usage.cost": float(u.get("cost_usd", 0.0)),
                     "gen_ai.response.finish_reasons": [str(turn.get("finish_reason") or "")]}
            span = self._start(f"chat {model}", parent, None, _ns(began, start), kind=SpanKind.CLIENT,
                               attributes=attrs)
            for kind, key in (("input", "prompt_tokens"), ("output", "completion_tokens")):
                self.tokens.record(int(u.get(key, 0)), {"gen_ai.operation.name": "chat",
                                                        "gen_ai.request.model": model, "gen_ai.token.type": kind})
        else:
            name = str(turn.get("name") or "")
            span = self._start(f"execute_tool {name}", parent, None, _ns(began, start), attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": str(turn.get("tool_call_id") or "")})
            if turn.get("error"):
                span.set_status(Status(StatusCode.ERROR, "the tool answered with an error"))
        span.end(end_time=_ns(ended, stop))

    def _metrics(self, ex: Execution) -> None:
        attrs = {"wfx.workflow.name": ex.workflow_name, "wfx.execution.status": ex.status.value}
        self.runs.add(1, attrs)
        end = ex.ended_at_s or ex.updated_at_s
        self.run_time.record(max(end - (ex.started_at_s or ex.created_at_s), 0.0), attrs)
        if ex.usage.cost_usd:
            self.cost.add(ex.usage.cost_usd, {"wfx.workflow.name": ex.workflow_name})
