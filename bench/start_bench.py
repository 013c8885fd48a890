"""Start-up figures, each from fresh processes, this checkout beside another version of the
library (``START_BASE_REF``, default ``main``) interleaved run by run: the cold import of
functions/main.py as a whole process, what the first request then imports, a whole instance
(functions-framework from spawn to its first answer), and the isolated job's own start (imports
and backends, with the cloud store's client) before it can take a run."""

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
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASE_REF = os.environ.get("START_BASE_REF", "main")
RUNS = int(os.environ.get("START_RUNS", "9"))
_FIRST_REQUEST = """
import json, sys, time
sys.path.insert(0, {funcs!r})
import main
t = time.perf_counter()
main.services()
import workflow_executor.mcp.http
print(json.dumps({{"ms": (time.perf_counter() - t) * 1000}}))
"""
_JOB = """
import json, time
t = time.perf_counter()
import workflow_executor.job as job
if hasattr(job, "start"):  # the job's own start-up
    s = job.start()
else:  # a version from before it had one
    from workflow_executor.services import build
    s = build(with_queue=False, measure_process=True)
print(json.dumps({"ms": (time.perf_counter() - t) * 1000}))
s.close()
"""
# the job's backends as in the cloud (Firestore store, Pub/Sub events); clients connect lazily
_CLOUD_ENV = {"WFX_STORE": "firestore", "WFX_EVENTS": "pubsub", "WFX_EVENTS_TOPIC": "projects/bench/topics/t",
              "WFX_GCP_PROJECT": "bench", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
              "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}


def _process_ms(shared: Path, argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall ms of a whole fresh interpreter running ``argv``, from spawn to exit."""
    t = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(shared), **(env or {})})
    return (time.perf_counter() - t) * 1000


def _reported_ms(shared: Path, code: str, env: dict[str, str] | None = None) -> float:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(shared), **(env or {})})
    return float(json.loads(out.stdout.strip().splitlines()[-1])["ms"])


def _instance_ms(top: Path, env: dict[str, str]) -> float:
    """Wall ms of a functions-framework instance of ``mcp``, from spawn until it answers a first
    request (a GET: the framework, main.py and the request's services, as a cold instance pays)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [str(Path(sys.executable).with_name("functions-framework")), "--target", "mcp", "--source",
            str(top / "functions" / "main.py"), "--host", "127.0.0.1", "--port", str(port)]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(top / "shared"), **env}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                opener.open(f"http://127.0.0.1:{port}/", timeout=10).close()
                break
            except urllib.error.HTTPError:
                break  # it answered (405: the endpoint takes POST)
            except OSError:
                time.sleep(0.005)
        else:
            raise RuntimeError(f"functions-framework of {top} did not answer")
        return (time.perf_counter() - t) * 1000
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def measure(trees: dict[str, Path], home: str) -> dict[tuple[str, str], list[float]]:
    """Each figure of each tree, RUNS times, the trees interleaved within every round."""
    got: dict[tuple[str, str], list[float]] = {}
    for _ in range(RUNS):
        for name, top in trees.items():
            env = {"WFX_HOME": os.path.join(home, name)}  # a version reads only the schema it wrote
            shared, funcs = top / "shared", str(top / "functions")
            imp = f"import sys; sys.path.insert(0, {funcs!r}); import main"
            got.setdefault((name, "python"), []).append(_process_ms(shared, ["-c", "pass"]))
            got.setdefault((name, "import"), []).append(_process_ms(shared, ["-c", imp], env))
            got.setdefault((name, "first"), []).append(_reported_ms(shared, _FIRST_REQUEST.format(funcs=funcs), env))
            got.setdefault((name, "job"), []).append(_reported_ms(shared, _JOB, {**env, **_CLOUD_ENV}))
            got.setdefault((name, "instance"), []).append(_instance_ms(top, env))
    return got


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE_REF, "shared", "functions"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        got = measure({"now": ROOT, "base": base}, tmp)
    med = {key: statistics.median(values) for key, values in got.items()}
    rows: list[dict[str, Any]] = []
    for name, label in (("now", "this tree"), ("base", f"{BASE_REF} (before)")):
        rows += [
            {"metric": f"{label}: `python -c 'import main'` (functions/main.py), whole process (median of {RUNS})",
             "value": med[name, "import"], "unit": "ms", "target": "≤ 150" if name == "now" else "(reference)"},
            {"metric": f"{label}: the first request's imports and services (main.services() + mcp.http)",
             "value": med[name, "first"], "unit": "ms", "target": "(reference)"},
            {"metric": f"{label}: a function instance, functions-framework spawned until it answers its first request",
             "value": med[name, "instance"], "unit": "ms", "target": "(reference)"},
            {"metric": f"{label}: isolated job start, imports + backends (Firestore, Pub/Sub) before it takes the run",
             "value": med[name, "job"], "unit": "ms", "target": "(reference)"},
        ]
    rows += [
        {"metric": "an empty interpreter (`python -c pass`), the floor of any process",
         "value": med["now", "python"], "unit": "ms", "target": "(reference)"},
        {"metric": f"cold import process, this tree / {BASE_REF}",
         "value": med["now", "import"] / med["base", "import"], "unit": "x", "target": "(reference)", "digits": 2},
        {"metric": f"import + first request, this tree / {BASE_REF}",
         "value": (med["now", "import"] + med["now", "first"]) / (med["base", "import"] + med["base", "first"]),
         "unit": "x", "target": "(reference)", "digits": 2},
        {"metric": f"function instance to its first answer, this tree / {BASE_REF}",
         "value": med["now", "instance"] / med["base", "instance"], "unit": "x", "target": "(reference)", "digits": 2},
        {"metric": f"isolated job start, this tree / {BASE_REF}", "value": med["now", "job"] / med["base", "job"],
         "unit": "x", "target": "(reference)", "digits": 2},
    ]
    return rows
