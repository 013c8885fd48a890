"""A Firestore stall (issue 18, point 7), on the real emulator paused with SIGSTOP under a real
`wfx serve`: every answer given after a run was created carries its execution_id, and a stall
shorter than a run's timeout neither orphans a sync caller nor makes a run end ``timeout``."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support import eventually
from wfx_procs import serving

from emulators import session as emulators

GATED = """
workflows:
  gated:
    steps:
      - {id: enter, function: tests.e2e.fixtures.wait_for_file,
         args: {path: "${input.gate}", log: "${input.log}", line: "${input.name}"}}
      - {id: leave, function: tests.e2e.fixtures.append_line, args: {path: "${input.done}", line: "${input.name}"}}
"""
RPC_TIMEOUT_S = "2"  # one Firestore call gives up after 2 s: a stall of a few seconds crosses it
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def tool(url: str, name: str, **arguments: Any) -> dict[str, Any]:
    """tools/call over HTTP; the CallToolResult (the HTTP answer must be 200 with a result)."""
    body = json.dumps({"jsonrpc": "2.0", "id": uuid.uuid4().hex[:8], "method": "tools/call",
                       "params": {"name": name, "arguments": arguments}}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with _DIRECT.open(req, timeout=55) as resp:
        assert resp.status == 200
        data: dict[str, Any] = json.loads(resp.read())
    assert "result" in data, data
    result: dict[str, Any] = data["result"]
    return result


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@contextmanager
def firestore_paused() -> Iterator[None]:
    """SIGSTOP the process group of the session's Firestore emulator (started by this test
    session); SIGCONT it however the block ends."""
    pgid = emulators.firestore().pgid
    os.killpg(pgid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pgid, signal.SIGCONT)


@contextmanager
def stack(tmp_path: Path, **env: str) -> Iterator[str]:
    """`wfx serve` on the Firestore emulator (a project of its own: nothing of other tests to
    resume), the local queue, and a 2 s deadline per Firestore call."""
    warm = emulators.firestore_client()  # the emulator's first query takes ~1.6 s (a cold JVM)
    try:
        list(warm.collection("executions").order_by("created_at_s").limit(1).stream())
    finally:
        warm.close()
    with serving(tmp_path / "home", WFX_STORE="firestore", WFX_GCP_PROJECT=f"stall-{uuid.uuid4().hex[:10]}",
                 WFX_FIRESTORE_TIMEOUT_S=RPC_TIMEOUT_S, WFX_FUNCTION_MODULES="tests.e2e.fixtures",
                 WFX_WORKFLOW_ROOTS=str(tmp_path / "roots"), **env) as url:
        yield url


def test_runs_in_flight_through_a_stall_shorter_than_their_timeout_complete_and_sync_callers_get_their_ids(
        tmp_path: Path) -> None:
    timeout = 5
    log, done, gate = tmp_path / "entered", tmp_path / "done", tmp_path / "gate"
    with stack(tmp_path) as url:
        def args(name: str, mode: str) -> dict[str, Any]:
            return {"workflow": GATED, "workflow_name": "gated", "execution_mode": mode, "timeout": timeout,
                    "idempotency_key": f"key-{name}",
                    "input_data": {"gate": str(gate), "log": str(log), "done": str(done), "name": name}}

        sync_answers: dict[str, dict[str, Any]] = {}

        def sync_caller(name: str) -> None:
            sync_answers[name] = tool(url, "execute_workflow", **args(name, "sync"))

        callers = [threading.Thread(target=sync_caller, args=(f"sync{i}",)) for i in range(2)]
        for t in callers:
            t.start()
        started = [tool(url, "execute_workflow", **args(f"async{i}", "async")) for i in range(3)]
        async_ids = [r["structuredContent"]["execution_id"] for r in started]
        eventually(lambda: len(lines(log)) == 5, timeout=20, what="every run to be inside its first step")
        entered_by = time.monotonic()
        with firestore_paused():
            gate.touch()  # every step ends now: each checkpoint meets the stalled store
            # Hold the stall past every run's original deadline (each started before entered_by),
            # yet shorter than its timeout.
            eventually(lambda: time.monotonic() > entered_by + timeout + 0.2, timeout=timeout + 5,
                       interval=0.1, what="the stall to outlast the runs' original deadlines")
        for t in callers:
            t.join(50)
        assert sorted(sync_answers) == ["sync0", "sync1"]
        for name, res in sync_answers.items():
            out = res["structuredContent"]
            assert out.get("execution_id"), (name, res)
            assert (res["isError"], out["status"]) == (False, "completed"), (name, out)

        def finished() -> list[str] | None:
            states = [tool(url, "check_execution_status", execution_id=i)["structuredContent"]["status"]
                      for i in async_ids]
            return states if all(s not in ("queued", "running") for s in states) else None

        assert eventually(finished, timeout=20, interval=0.2, what="the async runs to end") == ["completed"] * 3
        assert sorted(lines(done)) == ["async0", "async1", "async2", "sync0", "sync1"]


def test_a_sync_caller_whose_run_outlasts_the_runner_patience_gets_its_execution_id_and_can_resubmit(
        tmp_path: Path) -> None:
    log, done, gate = tmp_path / "entered", tmp_path / "done", tmp_path / "gate"
    arguments = {"workflow": GATED, "workflow_name": "gated", "execution_mode": "sync", "timeout": 30,
                 "idempotency_key": "one-run",
                 "input_data": {"gate": str(gate), "log": str(log), "done": str(done), "name": "only"}}
    # The runner waits at most 2 s for the store, then gives its pass up (lease 2 s: a resubmit
    # may resume it at once).
    with stack(tmp_path, WFX_STORE_OUTAGE_MAX_S="2", WFX_LEASE_TTL_S="2") as url:
        answer: list[dict[str, Any]] = []
        caller = threading.Thread(target=lambda: answer.append(tool(url, "execute_workflow", **arguments)))
        caller.start()
        eventually(lambda: lines(log) == ["only"], timeout=20, what="the run to be inside its first step")
        with firestore_paused():
            gate.touch()
            caller.join(30)  # the answer comes while the store is still paused
        assert len(answer) == 1
        res, out = answer[0], answer[0]["structuredContent"]
        assert (res["isError"], out["code"]) == (True, "transient"), res
        assert out["execution_id"] and out["status"] == "running", out
        # The client resubmits with its idempotency key: the same run, resumed here once its
        # lease has lapsed (until then the answer is the running execution, to poll).
        def resubmitted() -> dict[str, Any] | None:
            again = tool(url, "execute_workflow", **arguments)["structuredContent"]
            assert again["execution_id"] == out["execution_id"], again
            return again if again["status"] == "completed" else None

        assert eventually(resubmitted, timeout=20, interval=0.5)["result"] == "only"
        assert lines(done) == ["only"]
