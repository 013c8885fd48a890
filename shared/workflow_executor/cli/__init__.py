"""``wfx``: run, validate, watch and manage workflows on the embedded backends (data under
``./.wfx`` unless ``WFX_HOME`` says otherwise). Exit codes: 0 ok, 1 invalid or failed, 2 usage.
This module maps errors to exit codes; the commands live in the modules beside it."""

from __future__ import annotations

import os
import signal
import sys
import threading

from ..errors import SpecError, WfxError
from .common import EXIT_FAILED, EXIT_USAGE, UsageError
from .parser import parser, worker_parser

__all__ = ["main", "parser"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, raised by our own SIGINT handler. A subclass on purpose: CPython marks an exact
    KeyboardInterrupt that passes through a nested ``exec`` of a string (dataclass and namedtuple
    creation during a lazy import) as unhandled and then ends the process by SIGINT at exit, even
    after ``main`` caught it and returned 130."""


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted()


def main(argv: list[str] | None = None) -> int:
    """Run one ``wfx`` command; returns its exit code (130 after Ctrl-C)."""
    restore = None
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        restore = signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        return _main(argv)
    finally:
        if restore is not None:
            signal.signal(signal.SIGINT, restore)


def _main(argv: list[str] | None) -> int:
    try:
        given = sys.argv[1:] if argv is None else argv
        args = (worker_parser().parse_args(given[1:]) if given[:1] == ["worker"]
                else parser().parse_args(given))
        code: int = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        # `wfx executions | head -1`: the reader left; stop quietly like any Unix filter
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SpecError as err:
        for issue in err.issues:
            print(f"error: {issue}", file=sys.stderr)
        return EXIT_FAILED
    except WfxError as err:
        print(f"error: [{err.code}] {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
