"""MCP endpoint figures: cold import of the function module (fresh process), and
check_execution_status / a 5-step no-op sync execute_workflow over loopback HTTP against
``wfx serve`` on the embedded backend (keep-alive session)."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
_PROBE = """
import json, sys, time
sys.path.insert(0, {funcs!r})
t = time.perf_counter()
import main
ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
import workflow_executor.services, workflow_executor.mcp.http
first_ms = (time.perf_counter() - t) * 1000
# functions-framework ships its own google.cloud.functions context module: not a cloud client.
clients = [m for m in sys.modules if m.startswith("google.cloud.") and not m.startswith("google.cloud.functions")]
print(json.dumps({{"ms": ms, "first_ms": first_ms, "mcp_sdk": "mcp" in sys.modules,
                  "google_cloud": bool(clients)}}))
"""


def cold_import_ms(runs: int = 5) -> tuple[float, float, bool]:
    """Median ms to ``import main`` (functions/main.py) in a fresh interpreter, median ms of the
    endpoint modules the first request imports after it, and whether any run pulled in the mcp
    SDK or a google.cloud client library."""
    times, firsts, heavy = [], [], False
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(funcs=str(ROOT / "functions"))],
                             capture_output=True, text=True, check=True, cwd=ROOT,
                             env={**os.environ, "WFX_HOME": tempfile.gettempdir()})
        data = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(data["ms"])
        firsts.append(data["first_ms"])
        heavy = heavy or data["mcp_sdk"] or data["google_cloud"]
    return statistics.median(times), statistics.median(firsts), heavy


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _latencies(session: requests.Session, url: str, name: str, args: dict[str, Any], n: int) -> list[float]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}}
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = session.post(url, json=body, timeout=30)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and r.json()["result"]["isError"] is False, r.text[:300]
    return out


def http_latencies(n: int = 400) -> dict[str, list[float]]:
    """Per-call ms of check_execution_status and of a 5-step no-op sync run, over HTTP."""
    with tempfile.TemporaryDirectory() as home:
        from dataclasses import replace

        from workflow_executor.api import Executor
        from workflow_executor.settings import Settings

        # Register the benchmark workflow in the server's own store before it starts.
        steps = "".join(f"{{id: s{i}, function: builtins.noop}}, " for i in range(5))
        with Executor.local(settings=replace(Settings.from_env({}), home=Path(home))) as setup:
            setup.register(f"workflows: {{bench5: {{steps: [{steps}]}}}}")
        port = _free_port()
        env = {**os.environ, "WFX_HOME": home}
        env.pop("WFX_API_KEYS", None)
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.mcp.serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            with requests.Session() as s:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        if s.get(url + "healthz", timeout=1).status_code == 200:
                            break
                    except requests.ConnectionError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("wfx serve did not become ready")
                    time.sleep(0.05)
                first = s.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                    "name": "execute_workflow", "arguments": {"workflow_name": "bench5", "input_data": {}}}},
                               timeout=30).json()
                eid = first["result"]["structuredContent"]["execution_id"]
                _latencies(s, url, "check_execution_status", {"execution_id": eid}, 50)  # warm-up
                status = _latencies(s, url, "check_execution_status", {"execution_id": eid}, n)
                run = _latencies(s, url, "execute_workflow", {"workflow_name": "bench5", "input_data": {}}, n)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
    return {"status": status, "run": run}


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(int(len(values) * q), len(values) - 1)]


def run() -> list[dict[str, Any]]:
    """Rows {metric, value, unit, target} for the bench table."""
    imp, first, heavy = cold_import_ms()
    lat = http_latencies()
    return [
        {"metric": "cold import of functions/main.py (fresh process, median of 5)", "value": imp, "unit": "ms",
         "target": "≤ 300"},
        {"metric": "then the library (services, mcp.http), imported lazily by the first request (median)",
         "value": first, "unit": "ms", "target": "(reference)"},
        {"metric": "function module imports the mcp SDK or a google.cloud client", "value": "yes" if heavy else "no",
         "unit": "", "target": "no"},
        {"metric": "check_execution_status over loopback HTTP (p50)", "value": statistics.median(lat["status"]),
         "unit": "ms", "target": "≤ 5"},
        {"metric": "check_execution_status over loopback HTTP (p95)", "value": _p(lat["status"], 0.95),
         "unit": "ms", "target": "(reference)"},
        {"metric": "5-step no-op sync execute_workflow over loopback HTTP (p50)",
         "value": statistics.median(lat["run"]), "unit": "ms", "target": "≤ 15"},
        {"metric": "5-step no-op sync execute_workflow over loopback HTTP (p95)", "value": _p(lat["run"], 0.95),
         "unit": "ms", "target": "(reference)"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
