"""The ``wfx`` argument parser: every command, its arguments and their help."""

from __future__ import annotations

import argparse

from . import specialists
from .common import executor
from .documents import cmd_graph, cmd_list, cmd_register, cmd_validate
from .runs import cmd_cancel, cmd_executions, cmd_rerun, cmd_run, cmd_status, cmd_worker
from .server import cmd_keys, cmd_serve
from .watch import cmd_watch

DESCRIPTION = """\
wfx: run, validate, watch and manage workflows on the embedded backends (data under ./.wfx
unless WFX_HOME says otherwise). Exit codes: 0 ok, 1 invalid or failed, 2 usage."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wfx", description=DESCRIPTION)
    p.add_argument("--url", help="talk MCP to this endpoint instead of the local store (default: $WFX_URL)")
    p.add_argument("--api-key", help="API key for --url (default: $WFX_API_KEY)")
    sub = p.add_subparsers(dest="command", required=True)

    rg = sub.add_parser("register", help="store the workflows of files or folders by name")
    rg.add_argument("paths", nargs="+", metavar="FILE|DIR")
    rg.add_argument("--json", action="store_true")
    rg.set_defaults(fn=cmd_register)

    r = sub.add_parser("run", help="run a workflow file")
    r.add_argument("file")
    r.add_argument("--workflow", help="which workflow of the file (default: the first)")
    given = r.add_mutually_exclusive_group()
    given.add_argument("--input", help="JSON input, e.g. '{\"user_input\": \"hi\"}' or '\"hi\"'")
    given.add_argument("--input-text", help="plain text taken as user_input (no JSON parsing)")
    r.add_argument("--mode", choices=["sync", "async"], default="sync")
    r.add_argument("--timeout", type=float)
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_run)

    v = sub.add_parser("validate", help="validate workflow files (exit 1 when invalid)")
    v.add_argument("files", nargs="+")
    v.add_argument("--json", action="store_true")
    v.set_defaults(fn=cmd_validate)

    for name, fn, helptext in (("status", cmd_status, "show an execution"),
                               ("cancel", cmd_cancel, "cancel an execution")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("execution_id")
        c.add_argument("--json", action="store_true")
        c.set_defaults(fn=fn)

    w = sub.add_parser("watch", help="the execution's step tree, live until it ends")
    w.add_argument("execution_id")
    w.add_argument("--interval", type=float, default=0.2)
    w.set_defaults(fn=cmd_watch)

    gr = sub.add_parser("graph", help="draw a workflow as SVG or Mermaid")
    gr.add_argument("file")
    gr.add_argument("--workflow", help="which workflow of the file (default: the first)")
    gr.add_argument("-o", "--output", help="out.svg, out.mmd or out.png (PNG needs chromium; default: SVG on stdout)")
    gr.add_argument("--format", choices=["svg", "mmd"], default="svg")
    gr.set_defaults(fn=cmd_graph)

    rr = sub.add_parser("rerun", help="rerun a failed execution from its failed step (or --from-step)")
    rr.add_argument("execution_id")
    rr.add_argument("--from-step")
    rr.add_argument("--json", action="store_true")
    rr.set_defaults(fn=cmd_rerun)

    ls = sub.add_parser("list", help="list registered workflows")
    ls.add_argument("--register", nargs="*", help="workflow files to register first")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=cmd_list)

    ex = sub.add_parser("executions", help="list executions, newest first")
    ex.add_argument("--status")
    ex.add_argument("--workflow")
    ex.add_argument("--limit", type=int, default=20)
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(fn=cmd_executions)

    s = sub.add_parser("serve", help="serve the MCP endpoint on the embedded backends")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=4020)
    s.set_defaults(fn=cmd_serve)

    k = sub.add_parser("keys", help="API keys for the MCP endpoint")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kc = ksub.add_parser("create", help="create a key; it is printed once, only its hash is kept")
    kc.add_argument("--scopes", required=True, help="comma-separated: run,generate,read,cancel,admin")
    kc.add_argument("--workflows", help="comma-separated allow-list of workflow names")
    kc.add_argument("--name")
    kc.add_argument("--max-tokens", type=int, help="LLM token budget of every run this key starts")
    kc.add_argument("--max-cost-usd", type=float, help="LLM cost budget (USD) of every run this key starts")
    kc.set_defaults(fn=cmd_keys)

    specialists.register(sub, executor)  # troubleshoot, advise

    wk = sub.add_parser("worker", help=argparse.SUPPRESS)
    wk.add_argument("execution_id")
    wk.add_argument("--takeover", action="store_true")
    wk.set_defaults(fn=cmd_worker)
    return p
