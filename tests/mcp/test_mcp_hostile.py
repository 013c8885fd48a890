"""One caller cannot freeze the server: while hostile requests of three kinds run (an
expression bomb, ``${...}`` amplification, an un-checkpointable output), ``/healthz`` keeps
answering within 100 ms, and each hostile run ends with a clear error."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
from wfx_mcp_support import start_server, stop

BOMB = {"workflows": {"bomb": {"steps": [
    {"id": "a", "function": "builtins.echo", "args": {"value": 1},
     "condition": "[[[0]*10000]*10000]*60 == [[[0]*10000]*10000]*60"}]}}}
AMP = {"workflows": {"amp": {"steps": [
    {"id": "s0", "function": "builtins.echo", "args": {"value": "${user_input}"}},
    *({"id": f"s{i}", "function": "builtins.echo", "args": {"value": f"${{s{i - 1}.output}}" * 100}}
      for i in range(1, 4))]}}}
DEEP = {"workflows": {"deep": {"steps": [
    {"id": "d", "function": "builtins.echo", "args": {"value": {"x": "${loop.last}"}},
     "loop": {"until": "false", "max": 300}}]}}}
HOSTILE = [(BOMB, "x", "invalid_expression"), (AMP, "x" * 4000, "limit_exceeded"),
           (DEEP, "x", "invalid_output"), (BOMB, "y", "invalid_expression")]


def test_healthz_answers_within_100_ms_while_hostile_requests_run(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    stop_at = time.monotonic() + 2.0
    codes: list[str] = []
    errors: list[BaseException] = []

    def attack(doc: dict[str, Any], user_input: str, want: str) -> None:
        try:
            with requests.Session() as s:
                while time.monotonic() < stop_at:
                    r = s.post(srv.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                        "name": "execute_workflow", "arguments": {
                            "workflow": json.dumps(doc), "input_data": {"user_input": user_input}}}}, timeout=30)
                    sc = r.json()["result"]["structuredContent"]
                    assert sc["status"] == "failed", sc
                    codes.append(sc["error"]["code"])
                    assert sc["error"]["code"] == want, sc
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=attack, args=h) for h in HOSTILE]
    try:
        for t in threads:
            t.start()
        latencies: list[float] = []
        with requests.Session() as probe:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                assert probe.get(srv.url + "healthz", timeout=5).status_code == 200
                latencies.append(time.perf_counter() - t0)
        for t in threads:
            t.join(30)
    finally:
        srv.session.close()
        assert srv.proc is not None
        stop(srv.proc)
    assert not errors, errors
    assert set(codes) == {"invalid_expression", "limit_exceeded", "invalid_output"}
    assert len(latencies) > 20
    ranked = sorted(latencies)
    # Within 100 ms; the machine is shared with other work, so a rare probe may queue behind it,
    # but none waits long (unbounded, a bomb stalled every probe past 5 s).
    assert ranked[int(len(ranked) * 0.95)] < 0.1 and ranked[-1] < 1.0, ranked[-5:]
    print(f"healthz under attack: {len(ranked)} probes, median {ranked[len(ranked) // 2] * 1000:.1f} ms, "
          f"p95 {ranked[int(len(ranked) * 0.95)] * 1000:.1f} ms, max {ranked[-1] * 1000:.1f} ms")
