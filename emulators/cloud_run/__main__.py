"""CLI: `python -m emulators.cloud_run --host 127.0.0.1 --port 0`.

Prints one ready line (`cloud-run-emulator listening on HOST:PORT`), then serves until SIGTERM/SIGINT
(which also stop every task still running).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ..grpc_listen import serve_until_signalled
from .server import DEFAULT_HOST, CloudRunEmulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.cloud_run", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--kill-grace", type=float, default=10.0,
                        help="seconds between SIGTERM and SIGKILL for a timed-out or cancelled task (%(default)s)")
    parser.add_argument("--log-dir", type=Path, help="where each execution's output goes (default: a temp dir)")
    parser.add_argument("--max-active-executions", type=int, default=100,
                        help="executions running at once before RunJob answers RESOURCE_EXHAUSTED (%(default)s)")
    parser.add_argument("--log-level", default="WARNING", help="logging level for stderr (default %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    emulator = CloudRunEmulator(args.host, args.port, kill_grace_s=args.kill_grace, log_dir=args.log_dir,
                                max_active_executions=args.max_active_executions)
    return serve_until_signalled(emulator, "cloud-run-emulator")


if __name__ == "__main__":
    sys.exit(main())
