"""`python -m emulators.scheduler`: the emulator stack's scheduler process (what Cloud Scheduler
is to a deployment). It fires the ``schedules`` of the workflows registered in the stack's store
with the same code as ``wfx serve``: each firing is an async execution queued on the Cloud Tasks
emulator for the worker function, keyed by (workflow, schedule, firing time), so a restarted
scheduler never starts one firing twice. With ``--sweep-url`` it is also the sweep job of
infra/sweeper.tf: it POSTs to the worker's ``/sweep`` every ``--sweep-every`` seconds with the
worker secret (the cloud job sends an OIDC token); a failed call is logged and the next tick is
its retry. It reads its backends from the environment that ``python -m emulators up`` gives the
three functions, and stops on SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

READY = "scheduler: running"  # the line `emulators up` waits for
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sweep_once(url: str, secret: str | None, timeout: float) -> str:
    """One call of the worker's sweep; returns the answer's status and body, or the error, as one line."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Wfx-Worker-Secret"] = secret
    req = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return f"{resp.status} {resp.read().decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read().decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable: {exc}"


def _sweeping(url: str, every_s: float, stopping: threading.Event) -> None:
    secret = os.environ.get("WFX_WORKER_SECRET")
    while not stopping.wait(every_s):
        started = time.monotonic()
        line = sweep_once(url, secret, timeout=max(every_s, 30.0))
        if not line.startswith("200 ") or '"requeued": []' not in line or '"ended": []' not in line:
            print(f"sweep ({time.monotonic() - started:.2f} s): {line}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.scheduler", description=__doc__)
    parser.add_argument("--refresh-s", type=float, default=2.0,
                        help="how often the registered workflows' schedules are re-read (%(default)s s)")
    parser.add_argument("--sweep-url", help="the worker's /sweep URL (no sweeping without it)")
    parser.add_argument("--sweep-every", type=float, default=60.0, help="seconds between sweeps (%(default)s)")
    args = parser.parse_args(argv)
    from workflow_executor.api import Executor
    from workflow_executor.schedules import Scheduler
    from workflow_executor.services import build

    services = build()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    scheduler = Scheduler(Executor(services), refresh_s=args.refresh_s).start()
    if args.sweep_url and args.sweep_every > 0:
        threading.Thread(target=_sweeping, args=(args.sweep_url, args.sweep_every, stopping), name="sweep",
                         daemon=True).start()
    print(f"{READY} (store {services.settings.store}, queue {services.settings.queue}"
          + (f", sweeping every {args.sweep_every:g} s)" if args.sweep_url else ")"), flush=True)
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
