"""A stand-in for the Cloud Scheduler job of infra/scheduler.tf that sweeps: POSTs to the worker's
``/sweep`` every ``--every`` seconds with the worker secret (from WFX_WORKER_SECRET), as the cloud
job does with its OIDC token. ``python -m emulators.scheduler --url URL --every S``; runs until
SIGTERM. A failed call is logged and tried again at the next tick, like a scheduler job."""

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

_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def tick(url: str, secret: str | None, timeout: float) -> str:
    """One call; returns the answer's status and body, or the error, as one line."""
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.scheduler", description=__doc__)
    parser.add_argument("--url", required=True, help="the worker's sweep URL")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between calls (%(default)s)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    secret = os.environ.get("WFX_WORKER_SECRET")
    print(f"scheduler: POST {args.url} every {args.every:g} s", flush=True)
    while not stop.wait(args.every):
        started = time.monotonic()
        line = tick(args.url, secret, timeout=max(args.every, 30.0))
        print(f"sweep ({time.monotonic() - started:.2f} s): {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
