"""``gcp_environment``: read-only facts of the runtime. Locally it reports local facts without
asking a metadata server; on GCP it asks one (here a stand-in on 127.0.0.1 through
GCE_METADATA_HOST) for project, region and identity, never for a token. No environment value
off the safe list ever appears in an answer."""

from __future__ import annotations

import json
import platform
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

SECRET = "fake-secret-value-5f2e9c"
TOKEN = "ya29.fake-access-token"
OPERATIONS = ["analyze_environment", "get_environment_summary", "detect_platform", "get_optimization_recommendations",
              "get_cost_analysis", "get_security_assessment", "get_performance_metrics"]
META = {"/computeMetadata/v1/project/project-id": "proj-123",
        "/computeMetadata/v1/project/numeric-project-id": "4242",
        "/computeMetadata/v1/instance/region": "projects/4242/regions/europe-north1",
        "/computeMetadata/v1/instance/zone": "projects/4242/zones/europe-north1-b",
        "/computeMetadata/v1/instance/service-accounts/default/email": "runner@proj-123.iam.gserviceaccount.com",
        "/computeMetadata/v1/instance/service-accounts/default/token": json.dumps({"access_token": TOKEN})}


class MetadataStandIn(BaseHTTPRequestHandler):
    asked: list[str]

    def log_message(self, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = META.get(self.path) if self.headers.get("Metadata-Flavor") == "Google" else None
        raw = (body or "not found").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture(scope="module")
def metadata() -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (MetadataStandIn,), {"asked": asked}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()
    thread.join(5)


def _all(env: dict[str, str]) -> dict[str, Any]:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env(env)))
    doc = load_text("""
tools: [{id: where, type: mcpgcp_environment}]
workflows: {w: {steps: [{id: s, tool: where, params: {method: detect_platform}}]}}
""")
    return {op: reg.run_tool("where", {"method": op}, doc, ToolCall("e", "s")) for op in OPERATIONS}


def test_locally_it_reports_local_facts_and_asks_no_metadata_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFX_FAKE_DB_PASSWORD", SECRET)
    out = _all({"WFX_FAKE_DB_PASSWORD": SECRET, "OPENAI_API_KEY": SECRET, "HOME": "/home/x"})
    summary = out["get_environment_summary"]
    assert (summary["platform"], summary["gcp_environment"], summary["project_id"]) == ("local", False, None)
    assert summary["runtime"]["python_version"] == platform.python_version()
    assert summary["limits"]["cpu_count"] >= 1 and summary["limits"]["memory_total_bytes"] > 0
    assert out["get_cost_analysis"]["available"] is False  # costs are not read, and it says so
    assert out["detect_platform"]["environment_variables"] == {}
    assert SECRET not in json.dumps(out)


def test_on_gcp_it_reads_project_region_and_identity_from_the_metadata_server(
        metadata: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    host, asked = metadata
    monkeypatch.setenv("WFX_FAKE_DB_PASSWORD", SECRET)
    env = {"GCE_METADATA_HOST": host, "K_SERVICE": "wfx-mcp", "K_REVISION": "wfx-mcp-00007",
           "FUNCTION_TARGET": "mcp", "WFX_FAKE_DB_PASSWORD": SECRET, "WFX_GITHUB_TOKEN": SECRET,
           "OPENAI_API_KEY": SECRET, "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    out = _all(env)
    summary = out["get_environment_summary"]
    assert summary["platform"] == "cloud_functions"
    assert (summary["project_id"], summary["project_number"]) == ("proj-123", "4242")
    assert (summary["region"], summary["zone"]) == ("europe-north1", "europe-north1-b")
    assert (summary["service_name"], summary["revision"]) == ("wfx-mcp", "wfx-mcp-00007")
    assert out["get_security_assessment"]["service_account"] == "runner@proj-123.iam.gserviceaccount.com"
    assert out["detect_platform"]["environment_variables"] == {
        "K_SERVICE": "wfx-mcp", "K_REVISION": "wfx-mcp-00007", "FUNCTION_TARGET": "mcp",
        "KUBERNETES_SERVICE_HOST": True}
    shown = json.dumps(out)
    assert SECRET not in shown and TOKEN not in shown and "10.0.0.1" not in shown
    assert asked and not any("token" in p or "identity" in p for p in asked)


def test_a_metadata_server_that_is_not_there_leaves_local_facts(tmp_path: Path) -> None:
    from wfx_mcp_support import free_port

    out = _all({"GCE_METADATA_HOST": f"127.0.0.1:{free_port()}", "K_SERVICE": "svc",
                "GOOGLE_CLOUD_PROJECT": "from-env"})
    summary = out["get_environment_summary"]
    assert (summary["platform"], summary["project_id"], summary["service_name"]) == ("cloud_run", "from-env", "svc")


def test_a_gcp_environment_tool_step_runs_in_a_workflow(tmp_path: Path) -> None:
    wf = """
tools: [{id: where, type: mcpgcp_environment}]
workflows:
  w:
    steps:
      - {id: s, tool: where, params: {method: get_environment_summary}, output: {to: user}}
"""
    with executor(tmp_path) as wfx:
        done = wfx.run(workflow=wf)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result["platform"] == "local"
