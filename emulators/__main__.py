"""`python -m emulators up|down|env`: the whole system on 127.0.0.1 for development.

up    start the Firestore, Pub/Sub, Cloud Tasks and Cloud Run emulators, the mcp, worker and events
      functions and a scheduler (it fires registered workflows' schedules and calls the worker's
      /sweep every WFX_SWEEP_INTERVAL_S), wired together; print the MCP URL and the environment
      to export; exit
      (everything keeps running in its own process group, recorded in <state-dir>/stack.json)
down  stop exactly what `up` started
env   print the `export` lines again (eval "$(python -m emulators env)")
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from emulators.gcp import EmulatorError
from emulators.stack import ROOT, Stack, start

# `down` and `env` find the stack `up` started: the same absolute default from any directory,
# or the one named by WFX_DEV_STATE (which `env` exports, so it survives an eval).
DEFAULT_STATE = ROOT / ".wfx" / "dev"


def _default_state() -> str:
    return os.environ.get("WFX_DEV_STATE") or str(DEFAULT_STATE)


def _hint(command: str, state_dir: str) -> str:
    same = Path(state_dir).resolve() == Path(_default_state()).resolve()
    return f"python -m emulators {command}" + ("" if same else f" --state-dir {shlex.quote(state_dir)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "env"))
    parser.add_argument("--state-dir", default=_default_state(),
                        help="where the state file and logs go (%(default)s; WFX_DEV_STATE overrides)")
    parser.add_argument("--project", default="wfx-dev", help="the emulated project id (%(default)s)")
    parser.add_argument("--trigger-topic", action="append", default=[], metavar="NAME",
                        help="also create this topic and push it to the events function (repeatable)")
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="extra environment for the three functions, e.g. WFX_FUNCTION_MODULES=mypkg")
    args = parser.parse_args(argv)
    if args.command == "down":
        stack = Stack.load(args.state_dir)
        if stack is None:
            print(f"nothing is up (no state in {args.state_dir})")
            return 0
        names = ", ".join(p.name for p in stack.procs)
        stack.stop()
        print(f"stopped {names}")
        return 0
    if args.command == "env":
        stack = Stack.load(args.state_dir)
        if stack is None:
            print(f"nothing is up (no state in {args.state_dir}); run `{_hint('up', args.state_dir)}`",
                  file=sys.stderr)
            return 1
        print(stack.exports())
        return 0
    extra = dict(item.split("=", 1) for item in args.env)
    try:
        stack = start(project=args.project, state_dir=args.state_dir, extra_env=extra,
                      trigger_topics=tuple(args.trigger_topic))
    except EmulatorError as exc:
        print(f"emulators up failed: {exc}", file=sys.stderr)
        return 1
    print(f"MCP URL: {stack.mcp_url}")
    print(f"worker:  {stack.urls['worker']}   events: {stack.urls['events']}")
    print(f"logs and state: {stack.state_dir}   stop with: {_hint('down', stack.state_dir)}")
    print(f"# environment for clients of this stack (eval \"$({_hint('env', stack.state_dir)})\"):")
    print(stack.exports())
    return 0


if __name__ == "__main__":
    sys.exit(main())
