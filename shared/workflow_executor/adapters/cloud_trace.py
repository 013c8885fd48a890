"""Cloud Trace for the OpenTelemetry export (WFX_TRACE_EXPORTER=cloud_trace): the span exporter of
``opentelemetry-exporter-gcp-trace``, imported only when that setting asks for it. Google now
recommends OTLP (a collector, or the Telemetry API) over this exporter, which it deprecates."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import InvalidArgument


def span_exporter(project: str | None, *, host: str | None = None) -> Any:
    """A CloudTraceSpanExporter writing to ``project`` with the runtime's credentials (in the
    cloud the service account that infra/telemetry.tf grants roles/cloudtrace.agent); ``host``:
    a local stand-in of the Cloud Trace API over insecure gRPC (tests).
    Errors: InvalidArgument when no project is set or the exporter is not installed."""
    if not project:
        raise InvalidArgument("WFX_TRACE_EXPORTER=cloud_trace needs the Google Cloud project",
                              fix="set WFX_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT)")
    try:
        from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter
    except ImportError:
        raise InvalidArgument("WFX_TRACE_EXPORTER=cloud_trace needs opentelemetry-exporter-gcp-trace",
                              fix="pip install -e .[otel-gcp] (or set OTEL_EXPORTER_OTLP_ENDPOINT to a collector)"
                              ) from None
    client = None
    if host is not None:
        import grpc
        from google.cloud.trace_v2 import TraceServiceClient
        from google.cloud.trace_v2.services.trace_service.transports import TraceServiceGrpcTransport

        client = TraceServiceClient(transport=TraceServiceGrpcTransport(channel=grpc.insecure_channel(host)))
    with warnings.catch_warnings():  # said once in the README; not a warning per process start
        warnings.simplefilter("ignore", DeprecationWarning)
        return CloudTraceSpanExporter(project_id=project, client=client)  # type: ignore[no-untyped-call]
