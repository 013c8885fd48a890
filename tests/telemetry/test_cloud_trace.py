"""The Cloud Trace path of the OpenTelemetry export (WFX_TRACE_EXPORTER=cloud_trace): the official
exporter, over the official google-cloud-trace client, delivers a run's trace to a loopback
stand-in of the Cloud Trace v2 API; the setting picks it (and nothing else) at import; with
telemetry off neither OpenTelemetry nor the exporter is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud.trace_v2.types import BatchWriteSpansRequest
from google.protobuf import empty_pb2
from workflow_executor.adapters.cloud_trace import span_exporter
from workflow_executor.api import Executor
from workflow_executor.errors import WfxError
from workflow_executor.settings import Settings
from workflow_executor.trace_ids import trace_id_of

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "wfx-trace-test"
FLOW = """workflows:
  traced:
    steps:
      - {id: first, function: builtins.echo, args: {value: "${user_input}"}}
      - {id: each, function: builtins.echo, args: {value: "${item}"}, loop: {for_each: [1, 2]}}
"""


class TraceStandIn:
    """google.devtools.cloudtrace.v2.TraceService/BatchWriteSpans on loopback: keeps each request."""

    def __init__(self) -> None:
        self.requests: list[BatchWriteSpansRequest] = []
        self.got = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.unary_unary_rpc_method_handler(
            self._write, request_deserializer=BatchWriteSpansRequest.deserialize,
            response_serializer=empty_pb2.Empty.SerializeToString)
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "google.devtools.cloudtrace.v2.TraceService", {"BatchWriteSpans": handler}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def _write(self, request: BatchWriteSpansRequest, _context: Any) -> empty_pb2.Empty:
        self.requests.append(request)
        self.got.set()
        return empty_pb2.Empty()


@pytest.fixture
def cloud_trace() -> Iterator[TraceStandIn]:
    stand_in = TraceStandIn()
    stand_in.server.start()
    yield stand_in
    stand_in.server.stop(grace=None).wait(5)


# the exporter (deprecated upstream in favour of OTLP) calls deprecated SDK helpers as it translates
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_finished_run_reaches_cloud_trace_as_one_trace_with_a_span_per_step(
        cloud_trace: TraceStandIn, tmp_path: Path) -> None:
    from workflow_executor.observe import observed
    from workflow_executor.telemetry import Telemetry

    with Executor.local(settings=Settings.from_env({"WFX_HOME": str(tmp_path)}), memory=True) as wfx:
        telemetry = Telemetry(wfx.store, spans=span_exporter(PROJECT, host=f"127.0.0.1:{cloud_trace.port}"),
                              metrics=False)
        wfx.engine.store = observed(wfx.engine.store, [telemetry])
        try:
            res = wfx.run(input="hello", workflow=FLOW)
        finally:
            telemetry.close()
    assert res.status == "completed", res.error
    assert cloud_trace.got.wait(10), "no BatchWriteSpans arrived"
    spans = [s for r in cloud_trace.requests for s in r.spans]
    assert {r.name for r in cloud_trace.requests} == {f"projects/{PROJECT}"}
    names = {s.display_name.value: s for s in spans}
    assert set(names) == {"workflow traced", "step first", "step each"}
    trace = f"{trace_id_of(res.id):032x}"
    assert all(s.name.startswith(f"projects/{PROJECT}/traces/{trace}/spans/") for s in spans)
    root = names["workflow traced"]
    assert names["step first"].parent_span_id == root.span_id == names["step each"].parent_span_id
    attrs = root.attributes.attribute_map
    assert attrs["wfx.execution.id"].string_value.value == res.id


def test_cloud_trace_without_a_project_is_refused_with_the_setting_to_fix() -> None:
    with pytest.raises(WfxError) as err:
        span_exporter(None)
    assert err.value.code == "invalid_argument" and "WFX_GCP_PROJECT" in (err.value.fix or "")


def test_an_unknown_trace_exporter_is_refused() -> None:
    with pytest.raises(WfxError) as err:
        Settings.from_env({"WFX_TRACE_EXPORTER": "zipkin"})
    assert err.value.code == "invalid_argument"


PROBE = """
import json, sys
from workflow_executor.services import build
from workflow_executor.settings import Settings
services = build(Settings.from_env())
names = ("opentelemetry", "opentelemetry.exporter.cloud_trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter",
         "google.cloud.trace_v2")
print(json.dumps({n: n in sys.modules for n in names}))
services.close()
"""


def _imported(tmp_path: Path, **env: str) -> dict[str, bool]:
    tmp_path.mkdir()
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "shared"), "WFX_HOME": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=base, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    result: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_each_setting_imports_only_its_own_exporter_and_off_imports_nothing(tmp_path: Path) -> None:
    assert not any(_imported(tmp_path / "off").values())
    otlp = _imported(tmp_path / "otlp", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert otlp == {"opentelemetry": True, "opentelemetry.exporter.cloud_trace": False,
                    "opentelemetry.exporter.otlp.proto.http.trace_exporter": True, "google.cloud.trace_v2": False}
    adc = tmp_path / "adc.json"  # credentials of the ADC file format (never used: nothing is exported)
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "x", "client_secret": "y",
                               "refresh_token": "z"}))
    cloud = _imported(tmp_path / "cloud", WFX_TRACE_EXPORTER="cloud_trace", WFX_GCP_PROJECT=PROJECT,
                      GOOGLE_APPLICATION_CREDENTIALS=str(adc))
    assert cloud == {"opentelemetry": True, "opentelemetry.exporter.cloud_trace": True,
                     "opentelemetry.exporter.otlp.proto.http.trace_exporter": False, "google.cloud.trace_v2": True}
