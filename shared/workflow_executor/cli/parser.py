"""The ``wfx`` argument parser: every command, its arguments and their help. (``wfx worker``, the
detached runner of ``run --mode async``, has a parser of its own and is not listed.)"""

from __future__ import annotations

import argparse

from ..adapters.common import MAX_PAGE
from ..adapters.search import ID_PREFIX_MIN
from ..errors import WfxError
from ..models import ExecutionStatus
from ..timeparse import EXAMPLES, point
from . import profiles, specialists, waits
from .common import executor
from .documents import cmd_graph, cmd_list, cmd_register, cmd_validate
from .runs import cmd_cancel, cmd_executions, cmd_rerun, cmd_run, cmd_status, cmd_worker
from .server import cmd_fake_llm, cmd_keys, cmd_serve
from .watch import cmd_watch

DESCRIPTION = """\
wfx: run, validate, watch and manage workflows on the embedded backends (data under ./.wfx
unless WFX_HOME says otherwise). Exit codes: 0 ok, 1 invalid or failed, 2 usage."""
JSON_HELP = "print JSON instead of text"
ID_HELP = "the execution id (`wfx executions` lists them)"


def _time(text: str) -> float:
    """``--since`` / ``--until``: a time (timeparse.point) as Unix seconds, else a usage error (exit 2)."""
    try:
        at = point(text, "time")
    except WfxError:
        at = None
    if at is None:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}; write it like {EXAMPLES}")
    return at


def _id_prefix(text: str) -> str:
    if len(text.strip()) < ID_PREFIX_MIN:
        raise argparse.ArgumentTypeError(f"give the first {ID_PREFIX_MIN} or more characters of the id, got {text!r}")
    return text.strip()


def _page_size(text: str) -> int:
    """``--limit``: a whole number from 1 to MAX_PAGE, else a usage error (exit 2)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_PAGE}, got {text!r}")
    return n


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wfx", description=DESCRIPTION)
    p.add_argument("--url", help="talk MCP to this endpoint instead of the local store (default: $WFX_URL)")
    p.add_argument("--api-key", help="API key for --url (default: $WFX_API_KEY)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rg = sub.add_parser("register", help="store the workflows of files or folders by name")
    rg.add_argument("paths", nargs="+", metavar="FILE|DIR",
                    help="workflow files, LangSwarm config folders, or folders of *.yaml files")
    rg.add_argument("--json", action="store_true", help=JSON_HELP)
    rg.set_defaults(fn=cmd_register)

    r = sub.add_parser("run", help="run a workflow file (it is not registered: names keep their meaning)")
    r.add_argument("file", help="the workflow file (YAML) or LangSwarm config folder")
    r.add_argument("--workflow", help="which workflow of the file (default: the first)")
    given = r.add_mutually_exclusive_group()
    given.add_argument("--input", help="JSON input, e.g. '{\"user_input\": \"hi\"}' or '\"hi\"'")
    given.add_argument("--input-text", help="plain text taken as user_input (no JSON parsing)")
    r.add_argument("--mode", choices=["sync", "async"], default="sync",
                   help="sync waits for the result (default); async prints the id and runs it in the background")
    r.add_argument("--timeout", type=float, help="seconds the whole run may take (default: no limit)")
    r.add_argument("--json", action="store_true", help=JSON_HELP)
    r.set_defaults(fn=cmd_run)

    v = sub.add_parser("validate", help="validate workflow files (exit 1 when invalid)")
    v.add_argument("files", nargs="+", metavar="FILE|DIR",
                   help="workflow files, LangSwarm config folders, or folders of *.yaml files")
    v.add_argument("--json", action="store_true", help=JSON_HELP)
    v.set_defaults(fn=cmd_validate)

    for name, fn, helptext in (("status", cmd_status, "show an execution"),
                               ("cancel", cmd_cancel, "cancel an execution")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("execution_id", help=ID_HELP)
        c.add_argument("--json", action="store_true", help=JSON_HELP)
        c.set_defaults(fn=fn)

    w = sub.add_parser("watch", help="the execution's step tree, live until it ends")
    w.add_argument("execution_id", help=ID_HELP)
    w.add_argument("--interval", type=float, default=0.2, help="seconds between refreshes (default: 0.2)")
    w.set_defaults(fn=cmd_watch)

    gr = sub.add_parser("graph", help="draw a workflow as SVG or Mermaid")
    gr.add_argument("file", help="the workflow file (YAML) or LangSwarm config folder")
    gr.add_argument("--workflow", help="which workflow of the file (default: the first)")
    gr.add_argument("-o", "--output", help="out.svg, out.mmd or out.png (PNG needs chromium; default: SVG on stdout)")
    gr.add_argument("--format", choices=["svg", "mmd"], default="svg", help="the format on stdout (default: svg)")
    gr.set_defaults(fn=cmd_graph)

    rr = sub.add_parser("rerun", help="rerun a failed execution from its failed step (or --from-step)")
    rr.add_argument("execution_id", help=ID_HELP)
    rr.add_argument("--from-step", help="rerun from this step (the steps before it are reused)")
    rr.add_argument("--json", action="store_true", help=JSON_HELP)
    rr.set_defaults(fn=cmd_rerun)

    ls = sub.add_parser("list", help="list registered workflows")
    ls.add_argument("--register", nargs="*", metavar="FILE", help="workflow files to register first")
    ls.add_argument("--json", action="store_true", help=JSON_HELP)
    ls.set_defaults(fn=cmd_list)

    ex = sub.add_parser("executions", help="list executions, newest first")
    ex.add_argument("--status", choices=[s.value for s in ExecutionStatus if s.value != "not_found"],
                    help="only executions in this status")
    ex.add_argument("--workflow", help="only executions of this workflow name")
    ex.add_argument("--limit", type=_page_size, default=20, help=f"at most this many, 1 to {MAX_PAGE} (default: 20)")
    ex.add_argument("--since", metavar="TIME", type=_time,
                    help="only those created at or after TIME: ISO 8601 (UTC unless it has an offset) "
                    "or a span back from now such as 90m, 24h, 7d")
    ex.add_argument("--until", metavar="TIME", type=_time,
                    help="only those created at or before TIME (same forms as --since)")
    ex.add_argument("--id", metavar="PREFIX", dest="id_prefix", type=_id_prefix,
                    help="only ids starting with PREFIX (4+ characters)")
    ex.add_argument("--error", metavar="TEXT", dest="error_text",
                    help="only runs whose error holds each word of TEXT (code or message, any case)")
    ex.add_argument("--json", action="store_true", help=JSON_HELP)
    ex.set_defaults(fn=cmd_executions)

    s = sub.add_parser("serve", help="serve the MCP endpoint on the embedded backends")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; "
                   "any other needs API keys)")
    s.add_argument("--port", type=int, default=4020, help="port to listen on (default: 4020)")
    s.set_defaults(fn=cmd_serve)

    k = sub.add_parser("keys", help="API keys of the local MCP endpoint (keys are local: no --url)")
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    kc = ksub.add_parser("create", help="create a key; it is printed once, only its hash is kept")
    kc.add_argument("--scopes", required=True, help="comma-separated: run,generate,read,cancel,admin")
    kc.add_argument("--workflows", help="comma-separated allow-list of workflow names")
    kc.add_argument("--name", help="a label for the key (shown in logs and executions, never the key)")
    kc.add_argument("--max-tokens", type=int, help="LLM token budget of every run this key starts")
    kc.add_argument("--max-cost-usd", type=float, help="LLM cost budget (USD) of every run this key starts")
    kc.set_defaults(fn=cmd_keys)

    fl = sub.add_parser("fake-llm", help="a local OpenAI-compatible model with deterministic replies, to run "
                        "the LLM examples offline (set OPENAI_BASE_URL to the URL it prints)")
    fl.add_argument("--port", type=int, default=4021, help="port on 127.0.0.1 (default: 4021; 0 picks a free one)")
    fl.set_defaults(fn=cmd_fake_llm)

    specialists.register(sub, executor)  # troubleshoot, advise
    profiles.register(sub, kc)  # wfx profiles; wfx keys create --profiles
    waits.register(sub, executor)  # wfx send
    return p


def worker_parser() -> argparse.ArgumentParser:
    """``wfx worker ID [--takeover]``: runs one execution in this process (what ``run --mode
    async`` starts detached); not a command people type, so not in ``wfx --help``."""
    wk = argparse.ArgumentParser(prog="wfx worker", description=worker_parser.__doc__)
    wk.add_argument("execution_id", help=ID_HELP)
    wk.add_argument("--takeover", action="store_true", help="take over the lease of a dead runner")
    wk.set_defaults(fn=cmd_worker)
    return wk
