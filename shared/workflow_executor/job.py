"""Entrypoint of one isolated run (a Cloud Run job task, or a local subprocess): run or
resume the execution, record this process's CPU time and peak memory, exit 0 when it ran to
an end (whatever the workflow's outcome), 1 when it could not run, 75 to ask for a retry."""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import shutil
import sys

from .api import Executor
from .ports import TaskRequest
from .services import build
from .worker import handle_task

EXIT_OK, EXIT_ERROR, EXIT_RETRY = 0, 1, 75


def _limit(memory_mb: int | None, cpu_s: int | None, cpus: float | None = None) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        # an execution profile's vCPUs: this process (and what it starts) runs on that many cores
        mine = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, mine[:max(1, math.ceil(cpus))])
    if memory_mb:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024,) * 2)
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m workflow_executor.job")
    p.add_argument("execution_id", nargs="?", default=os.environ.get("WFX_EXECUTION_ID"))
    p.add_argument("--workdir", help="temporary directory to remove at the end")
    p.add_argument("--memory-mb", type=int, help="address-space limit for this process")
    p.add_argument("--cpu-s", type=int, help="CPU-time limit for this process")
    p.add_argument("--cpus", type=float, help="how many cores this process may use (an execution profile's cpu)")
    p.add_argument("--resume", action="store_true", help="take over the lease of a dead predecessor")
    a = p.parse_args(argv)
    _limit(a.memory_mb, a.cpu_s, a.cpus)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not a.execution_id:
        print("error: give the execution id (argument or WFX_EXECUTION_ID)", file=sys.stderr)
        return EXIT_ERROR
    services = build(with_queue=False, measure_process=True)
    Executor(services)  # the services' Executor: what the run starts from inside (mcp_call, triggers) uses it
    try:
        # A Cloud Run retry of a one-task job runs after the failed attempt is gone: its lease
        # belongs to a dead runner, so take it over instead of waiting for it to expire.
        # Locally, a job started again after a server restart takes over its dead predecessor's
        # lease the same way (takeover only ever takes a lease whose owner process is gone).
        retry = int(os.environ.get("CLOUD_RUN_TASK_ATTEMPT", "0") or 0) > 0 or a.resume
        out = handle_task(services, TaskRequest(a.execution_id, takeover=retry))
    finally:
        services.close()
        if a.workdir:
            shutil.rmtree(a.workdir, ignore_errors=True)
    logging.info("execution %s: %s %s", a.execution_id, out.status, out.message)
    if out.http_status == 200:
        return EXIT_OK
    return EXIT_RETRY if out.http_status in (409, 503) else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
