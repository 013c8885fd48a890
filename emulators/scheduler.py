"""`python -m emulators.scheduler`: the emulator stack's scheduler process (what Cloud Scheduler
is to a deployment). It fires the ``schedules`` of the workflows registered in the stack's store
with the same code as ``wfx serve``: each firing is an async execution queued on the Cloud Tasks
emulator for the worker function, keyed by (workflow, schedule, firing time), so a restarted
scheduler never starts one firing twice. It reads its backends from the environment that
``python -m emulators up`` gives the three functions, and stops on SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

READY = "scheduler: running"  # the line `emulators up` waits for


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.scheduler", description=__doc__)
    parser.add_argument("--refresh-s", type=float, default=2.0,
                        help="how often the registered workflows' schedules are re-read (%(default)s s)")
    args = parser.parse_args(argv)
    from workflow_executor.api import Executor
    from workflow_executor.schedules import Scheduler
    from workflow_executor.services import build

    services = build()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    scheduler = Scheduler(Executor(services), refresh_s=args.refresh_s).start()
    print(f"{READY} (store {services.settings.store}, queue {services.settings.queue})", flush=True)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()
        services.close()
    print(f"scheduler: stopped after {scheduler.fired} firings", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
