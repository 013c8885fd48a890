"""CLI: `python -m emulators.cloud_tasks --host 127.0.0.1 --port 0`.

Prints one ready line (`cloud-tasks-emulator listening on HOST:PORT`), then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..grpc_listen import serve_until_signalled
from .server import DEFAULT_DISPATCH_WORKERS, DEFAULT_HOST, CloudTasksEmulator
from .store import MIN_DISPATCH_DEADLINE_S


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulators.cloud_tasks", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument(
        "--dispatch-workers",
        type=int,
        default=DEFAULT_DISPATCH_WORKERS,
        help="maximum concurrent HTTP attempts across all queues (default %(default)s)",
    )
    parser.add_argument(
        "--min-dispatch-deadline",
        type=float,
        default=MIN_DISPATCH_DEADLINE_S,
        help="lower clamp (s) for a task's dispatch_deadline; the real service uses 15 (default %(default)s)",
    )
    parser.add_argument(
        "--tombstone-ttl",
        type=float,
        default=None,
        help="seconds a finished/deleted task name stays reserved (default: the emulator's lifetime)",
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level for stderr (default %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    emulator = CloudTasksEmulator(
        args.host,
        args.port,
        dispatch_workers=args.dispatch_workers,
        min_dispatch_deadline=args.min_dispatch_deadline,
        tombstone_ttl=args.tombstone_ttl,
    )
    return serve_until_signalled(emulator, "cloud-tasks-emulator")


if __name__ == "__main__":
    sys.exit(main())
