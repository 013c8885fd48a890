"""Entrypoint of one isolated run (a Cloud Run job task, or a local subprocess): run or
resume the execution, record this process's CPU time and peak memory, exit 0 when it ran to
an end (whatever the workflow's outcome), 1 when it could not run, 75 to ask for a retry. The
process ends as soon as the run's services are closed (``run``): no interpreter teardown."""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import math
import os
import resource
import shutil
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from .services import Services

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


def start() -> Services:
    """The run's services (and the Executor registered on them), as the job builds them.

    Start-up (the library, the cloud client libraries, the clients) allocates a great many
    objects and frees almost none: no collection runs during it (~35 ms less CPU before the
    first step), and what it made is frozen, so the run's collections do not walk it again."""
    gc.disable()
    try:
        from .api import Executor
        from .services import build

        services = build(with_queue=False, measure_process=True)
        Executor(services)  # the services' Executor: what the run starts from inside (mcp_call, triggers) uses it
    finally:
        gc.freeze()
        gc.enable()
    return services


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
    services = start()
    from .ports import TaskRequest
    from .worker import handle_task

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


def run(argv: list[str] | None = None) -> NoReturn:
    """The process entrypoint: ``main``, then exit with its code at once. Everything the run
    wrote is committed and its services are closed (events flushed) when ``main`` returns, so
    the interpreter's teardown of ~900 modules and their client libraries (~170 ms of CPU) is
    skipped: exit handlers run and output is flushed, and threads a step left behind end with
    the process, as they do when Cloud Run stops the container."""
    code = main(argv)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
