"""Our engine beside LangGraph + SQLite and DBOS on SQLite-WAL, and the disk floor (one SQLite
commit per step), interleaved round by round in one run of the shared peer harness, so that
the ratios hold on a noisy 2-core machine. Plus what the step output checks cost per step.

Needs the peer harness (``PEERS_SRC``, default /work/shared/bench-peers) and its LangGraph and
DBOS venvs (``PEER_VENVS``, default /tmp/peer-bench: ``VENVS=... ./setup_venvs.sh`` there). Our
engine runs from this checkout, with this interpreter."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PEERS_SRC = Path(os.environ.get("PEERS_SRC", "/work/shared/bench-peers"))
PEER_VENVS = Path(os.environ.get("PEER_VENVS", "/tmp/peer-bench"))
ROUNDS = int(os.environ.get("PEER_ROUNDS", "3"))
# PEER_BASE_REF=<git ref>: that version of our engine runs too ("wfxbase"), interleaved with this one
BASE_REF = os.environ.get("PEER_BASE_REF")
RUNS = ("langgraph:sqlite-sync dbos:sqlite-wal floor:sqlite-wal-full floor:sqlite-wal-normal "
        "wfx:sqlite-normal wfx:sqlite-full" + (" wfxbase:sqlite-normal wfxbase:sqlite-full" if BASE_REF else ""))
ROOT = Path(__file__).resolve().parents[1]


def _add_base(work: Path, tmp: Path) -> None:
    """A copy of the harness's wfx script that imports the engine at BASE_REF, run after each wfx run."""
    assert BASE_REF is not None
    base = tmp / "base"
    base.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE_REF, "shared"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    script = (work / "bench_wfx.py").read_text()
    script = f"import sys; sys.path.insert(0, {str(base / 'shared')!r})\n" + script
    (work / "bench_wfxbase.py").write_text(script.replace('common.main("wfx",', 'common.main("wfxbase",'))
    runner = (work / "run_all.sh").read_text()
    for variant in ("sqlite-normal", "sqlite-full"):
        runner = runner.replace(f'  "wfx wfx {variant}"\n', f'  "wfx wfx {variant}"\n  "wfx wfxbase {variant}"\n')
    (work / "run_all.sh").write_text(runner)


def peer_run(out: Path) -> list[dict[str, Any]]:
    """One interleaved run of the harness (a copy of it); its JSON lines."""
    for venv in ("langgraph", "dbos"):
        if not (PEER_VENVS / f"venv-{venv}" / "bin" / "python").exists():
            raise RuntimeError(f"no {venv} venv in {PEER_VENVS}: run VENVS={PEER_VENVS} WFX_SRC=. "
                               f"{PEERS_SRC}/setup_venvs.sh first (or set PEER_VENVS)")
    with tempfile.TemporaryDirectory(prefix="wfx-peers-") as tmp:
        work = Path(tmp) / "peers"
        shutil.copytree(PEERS_SRC, work, ignore=shutil.ignore_patterns("logs", "*.jsonl"))
        venvs = Path(tmp) / "venvs"
        venvs.mkdir()
        (venvs / "venv-wfx").symlink_to(sys.prefix)  # this checkout's venv (editable): not an install of it
        for venv in ("langgraph", "dbos"):
            (venvs / f"venv-{venv}").symlink_to(PEER_VENVS / f"venv-{venv}")
        if BASE_REF:
            _add_base(work, Path(tmp))
        env = {**os.environ, "VENVS": str(venvs), "ROUNDS": str(ROUNDS), "ONLY": RUNS, "OUT": str(out),
               "DURATION": os.environ.get("PEER_DURATION", "3")}
        subprocess.run(["bash", str(work / "run_all.sh")], env=env, check=True, timeout=3600)
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _median(lines: list[dict[str, Any]], peer: str, variant: str, key: str) -> float:
    vals = [ln[key] for ln in lines if ln.get("peer") == peer and ln.get("variant") == variant and key in ln]
    if not vals:
        errors = [ln.get("error", "")[-300:] for ln in lines if ln.get("peer") == peer and ln.get("variant") == variant]
        raise RuntimeError(f"{peer} {variant}: no result ({errors})")
    return float(statistics.median(vals))


def _throughput(lines: list[dict[str, Any]], peer: str, variant: str) -> float:
    """Median over rounds of the c=16 workflows per second (threads, 10-step workflows)."""
    vals = [ln["throughput"]["wf_per_s"] for ln in lines
            if ln.get("peer") == peer and ln.get("variant") == variant and "throughput" in ln]
    if not vals:
        raise RuntimeError(f"{peer} {variant}: no throughput")
    return float(statistics.median(vals))


def output_check_rows(per_step_us: float) -> list[dict[str, Any]]:
    """What ``check_output`` (size, depth, JSON-ability of every step output) costs per step of
    the peer workload (outputs: lists of 1..10 ints), against the engine's per-step overhead."""
    from workflow_executor.engine.outputs import check_output

    outputs = [list(range(i + 1)) for i in range(10)]
    best = float("inf")
    for _ in range(7):  # the least disturbed of several passes
        t = time.perf_counter()
        for _ in range(2000):
            for out in outputs:
                check_output(out, "s", 524_288)
        best = min(best, (time.perf_counter() - t) / 20_000 * 1e6)
    return [
        {"metric": "step output checks (size, depth, JSON), per step of this workload", "value": best,
         "unit": "µs/step", "target": "(reference)", "digits": 2},
        {"metric": "output checks / durable per-step overhead over the NORMAL floor", "value": best / per_step_us * 100,
         "unit": "%", "target": "< 10"},
    ]


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        lines = peer_run(Path(tmp) / "peers.jsonl")
    us = {(p, v): _median(lines, p, v, "per_step_us") for p, v in (r.split(":") for r in RUNS.split())}
    marginal = {(p, v): _median(lines, p, v, "marginal_step_us") for p, v in (r.split(":") for r in RUNS.split())}
    full, normal = us["wfx", "sqlite-full"], us["wfx", "sqlite-normal"]
    floor_full, floor_normal = us["floor", "sqlite-wal-full"], us["floor", "sqlite-wal-normal"]
    rows: list[dict[str, Any]] = [
        {"metric": f"{p} {v}: 10-step workflow median / 10 ({ROUNDS} interleaved rounds)", "value": us[p, v],
         "unit": "µs/step", "target": "(reference)"} for p, v in us]
    rows += [
        {"metric": f"{p} {v}: marginal step (1 → 10 steps)", "value": marginal[p, v], "unit": "µs/step",
         "target": "(reference)"} for p, v in marginal]
    rows += [
        {"metric": "wfx FULL / one FULL commit per step (floor), same run", "value": full / floor_full, "unit": "x",
         "target": "≤ 1.3", "digits": 2},
        {"metric": "wfx NORMAL / one NORMAL commit per step (floor), same run", "value": normal / floor_normal,
         "unit": "x", "target": "≤ 2", "digits": 2},
        {"metric": "LangGraph + SQLite / wfx FULL, same run", "value": us["langgraph", "sqlite-sync"] / full,
         "unit": "x", "target": "(reference)"},
        {"metric": "DBOS on SQLite-WAL / wfx FULL, same run", "value": us["dbos", "sqlite-wal"] / full, "unit": "x",
         "target": "(reference)"},
    ]
    wfs = {(p, v): _throughput(lines, p, v) for p, v in (r.split(":") for r in RUNS.split())}
    rows += [
        {"metric": f"{p} {v}: 10-step workflows/s at concurrency 16 (threads)", "value": wfs[p, v],
         "unit": "workflows/s", "target": "(reference)"} for p, v in wfs]
    rows += [
        {"metric": "wfx FULL workflows/s at c=16 / the FULL floor's, same run",
         "value": wfs["wfx", "sqlite-full"] / wfs["floor", "sqlite-wal-full"], "unit": "x", "target": "≥ 0.8",
         "digits": 2},
        {"metric": "wfx NORMAL workflows/s at c=16 / the NORMAL floor's, same run",
         "value": wfs["wfx", "sqlite-normal"] / wfs["floor", "sqlite-wal-normal"], "unit": "x", "target": "≥ 0.8",
         "digits": 2},
    ]
    if BASE_REF:
        rows += [{"metric": f"wfx {v} workflows/s at c=16 / wfx at {BASE_REF} (before), same run",
                  "value": wfs["wfx", v] / wfs["wfxbase", v], "unit": "x", "target": "(reference)", "digits": 2}
                 for v in ("sqlite-full", "sqlite-normal")]
        rows += [{"metric": f"wfx {v} / wfx at {BASE_REF} (before), same run", "value": us["wfx", v] / us["wfxbase", v],
                  "unit": "x", "target": "(reference)", "digits": 2} for v in ("sqlite-full", "sqlite-normal")]
    rows.append({"metric": "SQLite commits of one 10-step sync run (the floor: 10)", "value": commits_per_run(10),
                 "unit": "commits", "target": "(reference)"})
    return rows + output_check_rows(max(normal - floor_normal, 1e-9))


def commits_per_run(steps: int) -> int:
    """Transactions our engine commits for one sync run of ``steps`` steps (traced on its connection:
    each COMMIT, and each write statement run alone in autocommit)."""
    sys.path.insert(0, str(ROOT))
    from workflow_executor.adapters.sqlite import SqliteExecutionStore
    from workflow_executor.api import Executor

    from tests.contract.sqlite_commits import commits

    with tempfile.TemporaryDirectory() as tmp:
        wfx = Executor.local(home=Path(tmp))
        try:
            wfx.register({"workflows": {"w": {"steps": [
                {"id": f"s{i}", "function": "builtins.echo", "args": {"value": i}} for i in range(steps)]}}})
            wfx.run("w")
            assert isinstance(wfx.store, SqliteExecutionStore)
            seen: list[str] = []
            wfx.store._db.set_trace_callback(seen.append)
            wfx.run("w")
            wfx.store._db.set_trace_callback(None)
            return commits(seen)
        finally:
            wfx.close()
