"""`python -m bench [suite ...]`: run the performance suites and write bench/RESULTS.md.

Suites: engine (embedded SQLite), mcp (loopback HTTP), cloud (emulators), isolated (the Cloud Run
emulator on the stack), agents (a local LLM server), ui (headless Chromium), peers (beside LangGraph and
DBOS, in the shared peer harness; needs its venvs), start (cold import, first request and isolated
job start, beside another version). Running some suites keeps the other suites'
sections of RESULTS.md as they were. Each suite module
has ``run() -> list[dict]`` with rows {metric, value, unit, target}.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from pathlib import Path

SUITES = ("engine", "mcp", "cloud", "isolated", "ui", "metrics", "agents", "peers", "start")
OUT = Path(__file__).with_name("RESULTS.md")


def main(argv: list[str]) -> int:
    wanted = argv or list(SUITES)
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    kept = {chunk.split("\n", 1)[0].strip(): "## " + chunk.rstrip() for chunk in old.split("\n## ")[1:]}
    fresh: dict[str, str] = {}
    for suite in wanted:
        try:
            mod = importlib.import_module(f"bench.{suite}_bench")
        except ModuleNotFoundError as exc:
            print(f"{suite}: skipped ({exc})", file=sys.stderr)
            continue
        print(f"running {suite} ...", file=sys.stderr, flush=True)
        try:
            rows = mod.run()
        except RuntimeError as exc:  # a suite that cannot run here says why (e.g. peers without its venvs)
            print(f"{suite}: skipped ({exc})", file=sys.stderr)
            continue
        lines = [f"## {suite}", "", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
                 "| metric | value | unit | target |", "|---|---:|---|---|"]
        for r in rows:
            v = r["value"]
            shown = f"{v:,.{r.get('digits', 1)}f}" if isinstance(v, float) else str(v)
            lines.append(f"| {r['metric']} | {shown} | {r['unit']} | {r['target']} |")
            print(f"  {r['metric']}: {shown} {r['unit']} (target {r['target']})", file=sys.stderr)
        fresh[suite] = "\n".join(lines)
    header = (f"# Benchmark results\n\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
              f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
              "Reproduce with `make bench`.\n")
    if kept and not set(SUITES) <= set(fresh):  # a partial run keeps the header of the full one
        header = old.split("\n## ", 1)[0].rstrip() + "\n"
    sections = [fresh.get(name) or kept[name] for name in [*SUITES, *kept] if name in fresh or name in kept]
    OUT.write_text(header + "\n" + "\n\n".join(dict.fromkeys(sections)) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
