"""Isolated mode on one machine: a separate process per execution, own process group, limits,
scrubbed environment and a temporary directory that is gone afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from executors import make_executor
from workflow_executor.models import ExecutionStatus

HERE = Path(__file__).parent


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("WFX_FUNCTION_MODULES", "engine_fns")
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    ex = make_executor(tmp_path, "sqlite")
    yield ex
    ex.close()


def test_an_isolated_run_happens_in_another_process_with_a_scrubbed_environment(isolated) -> None:  # type: ignore[no-untyped-def]
    started = isolated.submit(workflow="workflows: {w: {steps: [{id: look, function: engine_fns.environment}]}}",
                              mode="isolated")
    assert started.status == ExecutionStatus.QUEUED
    done = isolated.wait(started.id, timeout=30)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    seen = done.result
    assert seen["pid"] != str(os.getpid())
    keys = seen["keys"].split(",")
    assert "SECRET_TOKEN" not in keys and "WFX_FUNCTION_MODULES" in keys
    assert Path(seen["cwd"]).name.startswith("wfx-job-") and not Path(seen["cwd"]).exists()
    assert done.usage.cpu_s > 0 and done.usage.peak_memory_kb > 0


def test_cancelling_an_isolated_run_stops_it(isolated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "log"
    gate = tmp_path / "gate"
    started = isolated.submit(mode="isolated", workflow=f"""
workflows:
  w:
    steps:
      - {{id: wait, function: engine_fns.wait_for_file, args: {{path: "{gate}", timeout: 20}}}}
      - {{id: after, function: engine_fns.mark, args: {{log: "{log}", name: after}}}}
""")
    isolated.cancel(started.id)
    gate.touch()
    done = isolated.wait(started.id, timeout=30)
    assert done.status == ExecutionStatus.CANCELLED
    assert not log.exists()


def test_an_isolated_run_is_held_to_its_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("WFX_FUNCTION_MODULES", "engine_fns")
    ex = make_executor(tmp_path, "sqlite", job_memory_mb=768)
    try:
        text = "workflows: {w: {steps: [{id: big, function: engine_fns.allocate, args: {mb: %d}}]}}"
        small = ex.wait(ex.submit(workflow=text % 16, mode="isolated").id, timeout=30)
        assert small.status == ExecutionStatus.COMPLETED, small.error
        big = ex.wait(ex.submit(workflow=text % 2048, mode="isolated").id, timeout=30)
        assert big.status == ExecutionStatus.FAILED
        assert big.error is not None and "MemoryError" in big.error.message
    finally:
        ex.close()
