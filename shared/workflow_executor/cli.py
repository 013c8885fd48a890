"""``wfx``: run, validate, watch and manage workflows on the embedded backends (data under
``./.wfx`` unless ``WFX_HOME`` says otherwise). Exit codes: 0 ok, 1 invalid or failed, 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import cli_profiles, cli_waits
from . import cli_specialists as specialists
from .errors import SpecError, WfxError
from .models import Execution, ExecutionMode, ExecutionStatus
from .usage_view import live_usage, usage_line
from .wait_view import wait_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2  # argparse itself exits 2 on a usage error


def _executor(a: argparse.Namespace | None = None) -> Any:
    """The local Executor, or with ``--url`` / WFX_URL the endpoint's (client.RemoteExecutor)."""
    from .settings import Settings

    settings = Settings.from_env()
    url = getattr(a, "url", None) or settings.remote_url
    if a is not None and url:
        from .client import RemoteExecutor

        return RemoteExecutor(url, getattr(a, "api_key", None) or settings.remote_api_key)
    from .api import Executor

    return Executor.local(settings=settings)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def _execution_view(ex: Execution) -> dict[str, Any]:
    return {
        "execution_id": ex.id, "workflow_name": ex.workflow_name, "status": ex.status.value,
        "mode": ex.mode.value, "progress": ex.progress.describe(ex.finished), "result": ex.result,
        "error": ex.error.model_dump() if ex.error else None,
        "steps": [{"id": r.step_id, "status": r.status.value, "attempts": r.attempts,
                   "error": r.error.message if r.error else None,
                   "usage": r.usage.model_dump(exclude_defaults=True) if r.usage else None,
                   **({"warnings": list(r.warnings)} if r.warnings else {})}
                  for r in sorted(ex.steps.values(), key=lambda r: r.seq)],
        "usage": live_usage(ex).model_dump(),
        "rerun_of": ex.rerun_of,
    }


def _show(ex: Execution, as_json: bool) -> int:
    if as_json:
        _print_json(_execution_view(ex))
    else:
        p = ex.progress
        progress = f"{p.completed} of {p.total} steps done" if ex.finished else p.describe()
        if ex.status == ExecutionStatus.WAITING:
            progress = wait_line(ex)
        print(f"{ex.id}  {ex.workflow_name}  {ex.status.value}  ({progress})")
        if (spent := usage_line(live_usage(ex))) is not None:
            print(spent)
        if ex.result is not None:
            print(json.dumps(ex.result, indent=2, default=str, ensure_ascii=False))
        for r in sorted(ex.steps.values(), key=lambda r: r.seq):
            for note in r.warnings:
                print(f"warning step '{r.step_id}': {note}", file=sys.stderr)
        if ex.error:
            where = f" at step '{ex.error.step}'" if ex.error.step else ""
            print(f"error{where}: [{ex.error.code}] {ex.error.message}", file=sys.stderr)
    return EXIT_OK if ex.status.value in ("completed", "queued", "running", "waiting") else EXIT_FAILED


class UsageError(Exception):
    """A command line that cannot mean what was asked: exit 2 with the fix."""


def _input(a: argparse.Namespace) -> Any:
    """``--input`` is JSON (a wrong quote must not silently turn into a string);
    ``--input-text`` is taken as the plain user_input."""
    if getattr(a, "input_text", None) is not None:
        return a.input_text
    if a.input is None:
        return None
    try:
        return json.loads(a.input)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--input is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}). "
                         f"Fix: give JSON (a string needs quotes: --input '\"text\"') "
                         f"or pass plain text with --input-text") from None


def _pick(ex: Any, path: Path, name: str | None) -> str:
    """The workflow of ``path`` to run: ``name`` if the file defines it, else the first."""
    doc, _ = ex.check(path)
    if name is None:
        return str(doc.workflow().id)
    if name not in doc.workflows:
        names = ", ".join(doc.workflows)
        raise UsageError(f"{path} has no workflow '{name}' (it has: {names}). Fix: --workflow one of: {names}")
    return name


def cmd_run(a: argparse.Namespace) -> int:
    data = _input(a)
    ex = _executor(a)
    path = Path(a.file)
    name = _pick(ex, path, a.workflow)
    if getattr(ex, "remote", False):  # the endpoint runs it (async: its queue), nothing runs here
        return _show(ex.run_file(path, name, data, a.mode, a.timeout), a.json)
    if a.mode == "async":
        ex.register(path)
        # No server keeps this process alive: the run goes to a detached worker process.
        started = ex.submit(name, data, mode=ExecutionMode.ASYNC, dispatch=False)
        _spawn_worker(started.id)
        return _show(ex.status(started.id), a.json)
    return _run_here(ex, path, name, data, a)


def _run_here(ex: Any, path: Path, name: str, data: Any, a: argparse.Namespace) -> int:
    """A sync run in this process. Ctrl-C cancels it, so that it does not stay `running` with
    no runner (a later `wfx serve` would otherwise resume what the user stopped)."""
    from .api import ON_CREATED

    created: list[str] = []
    token = ON_CREATED.set(lambda e: created.append(e.id))
    try:
        return _show(ex.run(name, data, workflow=path, timeout=a.timeout), a.json)
    except KeyboardInterrupt:
        if created:
            try:
                ended = ex.cancel(created[0])
                print(f"execution {ended.id} {ended.status.value}", file=sys.stderr)
            except WfxError as err:
                print(f"execution {created[0]} could not be cancelled: {err}", file=sys.stderr)
        raise
    finally:
        ON_CREATED.reset(token)


def _spawn_worker(execution_id: str) -> None:
    subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "worker", execution_id],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, env=dict(os.environ))


def cmd_worker(a: argparse.Namespace) -> int:
    """Run one execution in this process (the local twin of the worker function)."""
    from .ports import TaskRequest
    from .services import build
    from .worker import handle_task

    services = build(with_queue=False)
    try:
        out = handle_task(services, TaskRequest(a.execution_id, takeover=a.takeover))
    finally:
        services.close()
    return EXIT_OK if out.http_status == 200 else EXIT_FAILED


def cmd_validate(a: argparse.Namespace) -> int:
    ex = _executor(a)
    results, bad = [], False
    for f in a.files:
        try:
            _, report = ex.check(Path(f))
            results.append({"file": f, "valid": True, "errors": [],
                            "warnings": [w.to_dict() for w in report.warnings]})
        except SpecError as err:
            bad = True
            results.append({"file": f, "valid": False, "errors": [i.to_dict() for i in err.issues],
                            "warnings": [w.to_dict() for w in err.warnings]})
        except WfxError as err:
            bad = True
            results.append({"file": f, "valid": False, "errors": [err.to_dict()], "warnings": []})
    if a.json:
        _print_json(results)
    else:
        for r in results:
            print(f"{r['file']}: {'valid' if r['valid'] else 'INVALID'}")
            for e in r["errors"]:
                print(f"  error   {e.get('path', '')}: {e['message']}" + (f" Fix: {e['fix']}" if e.get("fix") else ""))
            for w in r["warnings"]:
                print(f"  warning {w.get('path', '')}: {w['message']}")
    return EXIT_FAILED if bad else EXIT_OK


def cmd_status(a: argparse.Namespace) -> int:
    return _show(_executor(a).status(a.execution_id), a.json)


def cmd_watch(a: argparse.Namespace) -> int:
    """The execution's step tree (as the web view shows it), live until the run ends."""
    from rich.console import Console
    from rich.live import Live

    from .ui.terminal import tree

    ex = _executor(a)
    if getattr(ex, "remote", False):
        return _watch_remote(ex, a)

    def view() -> tuple[Execution, Any]:
        cur = ex.status(a.execution_id)
        try:
            doc = ex.engine.document(cur.workflow_name, cur.workflow_hash)
        except WfxError:
            doc = None
        return cur, tree(ex.store, cur, doc, ex.engine.clock.now())

    cur, shown = view()
    with Live(shown, console=Console(), refresh_per_second=8, transient=False) as live:
        while not cur.finished:
            time.sleep(a.interval)  # a terminal refresh rate, not synchronisation
            cur, shown = view()
            live.update(shown)
    return _show(cur, False)


def _watch_remote(ex: Any, a: argparse.Namespace) -> int:
    """Watch through the endpoint: one line per change of state until the run ends."""
    last = ""
    cur = ex.status(a.execution_id)
    while True:
        step = "" if cur.finished else f" {cur.progress.describe()} {', '.join(cur.progress.current)}"
        if cur.status == ExecutionStatus.WAITING:
            step = f" {wait_line(cur)}"
        line = f"{cur.workflow_name} [{cur.status.value}]{step}"
        if line != last:
            print(line.rstrip(), file=sys.stderr)
            last = line
        if cur.finished:
            return _show(cur, False)
        time.sleep(a.interval)  # a polling interval, not synchronisation
        cur = ex.status(a.execution_id)


def cmd_register(a: argparse.Namespace) -> int:
    """Store the workflows of files or folders by name (a LangSwarm config folder is one
    document; another folder gives each of its *.yaml files)."""
    from .spec.folder import is_config_folder

    ex = _executor(a)
    rows = []
    for given in a.paths:
        path = Path(given)
        files = ([path] if not path.is_dir() or is_config_folder(path)
                 else sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        if not files:
            raise UsageError(f"{path} holds no workflow files (*.yaml). Fix: name a file or a folder of them")
        for f in files:
            rows += [{"name": w.name, "version": w.version, "file": str(f)} for w in ex.register(f)]
    if a.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"registered {r['name']}  v{r['version']}  from {r['file']}")
    return EXIT_OK


def cmd_graph(a: argparse.Namespace) -> int:
    """Draw a workflow of a file as SVG (default) or Mermaid (``-o x.mmd``); stdout without -o."""
    from .ui.pictures import picture, write_png

    ex = _executor()
    doc, report = ex.check(Path(a.file))
    out = a.output or ""
    fmt = "mmd" if out.endswith(".mmd") or a.format == "mmd" else "png" if out.endswith(".png") else "svg"
    text = picture(doc, report.warnings, a.workflow, "mmd" if fmt == "mmd" else "svg")
    if fmt == "png":
        write_png(text, Path(out))
        print(f"{out}: png of workflow '{doc.workflow(a.workflow).id}'")
    elif a.output:
        Path(a.output).write_text(text, encoding="utf-8")
        print(f"{a.output}: {fmt} of workflow '{doc.workflow(a.workflow).id}'")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_cancel(a: argparse.Namespace) -> int:
    ex = _executor(a)
    before = ex.status(a.execution_id)
    after = before if before.finished else ex.cancel(a.execution_id)
    if before.finished:
        what, said = "already_finished", f"{before.id} had already ended ({before.status.value}); nothing to cancel"
    elif after.finished:
        what, said = "cancelled", f"{after.id} cancelled ({after.status.value}; it was {before.status.value})"
    else:
        at = ", ".join(after.progress.current) or "its current step"
        what, said = "requested", (f"cancel requested for {after.id}: it stops after {at} "
                                   f"(follow it with `wfx watch {after.id}`)")
    if a.json:
        _print_json({**_execution_view(after), "cancel": what})
    else:
        print(said)
    return EXIT_OK


def cmd_rerun(a: argparse.Namespace) -> int:
    ex = _executor(a)
    new = ex.rerun(a.execution_id, a.from_step, mode="sync")
    return _show(new, a.json)


def cmd_list(a: argparse.Namespace) -> int:
    ex = _executor(a)
    for path in a.register or []:
        ex.register(Path(path))
    rows = [{"name": w.name, "version": w.version, "hash": w.hash[:12], "description": w.description}
            for w in ex.workflows()]
    if a.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']}  v{r['version']}  {r['hash']}  {r['description'] or ''}")
    return EXIT_OK


def cmd_executions(a: argparse.Namespace) -> int:
    page = _executor(a).executions(status=a.status, workflow_name=a.workflow, limit=a.limit)
    if a.json:
        _print_json([_execution_view(e) for e in page.items])
    else:
        for e in page.items:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created_at_s))
            print(f"{e.id}  {e.workflow_name}  {e.status.value}  {when}")
    return EXIT_OK


def cmd_serve(a: argparse.Namespace) -> int:
    from .mcp.serve import serve
    from .settings import Settings

    serve(Settings.from_env(), a.host, a.port)
    return EXIT_OK


def cmd_keys(a: argparse.Namespace) -> int:
    from .mcp.auth import create_key
    from .settings import Settings

    scopes = [s.strip() for s in a.scopes.split(",") if s.strip()]
    workflows = [w.strip() for w in a.workflows.split(",") if w.strip()] if a.workflows else None
    settings = Settings.from_env()
    budget = None
    if a.max_tokens is not None or a.max_cost_usd is not None:
        from .models import Budget

        try:
            budget = Budget(max_tokens=a.max_tokens, max_cost_usd=a.max_cost_usd)
        except ValueError as exc:
            raise UsageError("--max-tokens and --max-cost-usd must be above 0") from exc
    print(create_key(settings, scopes, workflows, a.name, budget, profiles=cli_profiles.names(a)))
    # stderr, so `$(wfx keys create ...)` captures only the key; a server on this file is now keyed
    print(f"wfx keys: stored the key's hash in {settings.api_keys_file}; `wfx serve` with this keys file "
          "now requires an API key from every caller", file=sys.stderr)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wfx", description=__doc__)
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

    specialists.register(sub, _executor)  # troubleshoot, advise
    cli_profiles.register(sub, kc)  # wfx profiles; wfx keys create --profiles
    cli_waits.register(sub, _executor)  # wfx send

    wk = sub.add_parser("worker", help=argparse.SUPPRESS)
    wk.add_argument("execution_id")
    wk.add_argument("--takeover", action="store_true")
    wk.set_defaults(fn=cmd_worker)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
