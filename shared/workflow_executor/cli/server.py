"""``wfx serve`` and ``wfx keys``: the local MCP endpoint and its API keys."""

from __future__ import annotations

import argparse
import errno
import sys

from . import profiles
from .common import EXIT_OK, UsageError


def cmd_serve(a: argparse.Namespace) -> int:
    from ..mcp.serve import serve
    from ..settings import Settings

    serve(Settings.from_env(), a.host, a.port)
    return EXIT_OK


def cmd_keys(a: argparse.Namespace) -> int:
    from ..mcp.auth import create_key
    from ..settings import Settings

    if a.url:
        raise UsageError("keys are local: `wfx keys create` writes the keys file of this machine "
                         "(WFX_HOME or WFX_API_KEYS_FILE), never an endpoint's. Fix: drop --url and run it "
                         "where the server runs (in the cloud: the Secret Manager secret WFX_API_KEYS_SECRET)")
    scopes = [s.strip() for s in a.scopes.split(",") if s.strip()]
    workflows = [w.strip() for w in a.workflows.split(",") if w.strip()] if a.workflows else None
    settings = Settings.from_env()
    budget = None
    if a.max_tokens is not None or a.max_cost_usd is not None:
        from ..models import Budget

        try:
            budget = Budget(max_tokens=a.max_tokens, max_cost_usd=a.max_cost_usd)
        except ValueError as exc:
            raise UsageError("--max-tokens and --max-cost-usd must be above 0") from exc
    print(create_key(settings, scopes, workflows, a.name, budget, profiles=profiles.names(a)))
    # stderr, so `$(wfx keys create ...)` captures only the key; a server on this file is now keyed
    print(f"wfx keys: stored the key's hash in {settings.api_keys_file}; `wfx serve` with this keys file "
          "now requires an API key from every caller", file=sys.stderr)
    if settings.remote_url:  # WFX_URL points elsewhere; this key is for the server on this machine
        print(f"wfx keys: keys are local; the endpoint in WFX_URL ({settings.remote_url}) does not know this "
              "key unless it runs on this keys file", file=sys.stderr)
    return EXIT_OK


def cmd_fake_llm(a: argparse.Namespace) -> int:
    """Serve the fake OpenAI-compatible model on loopback until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from ..errors import PortInUse
    from ..fakellm.server import LLMServer

    try:
        server = LLMServer(port=a.port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(f"port {a.port} is in use", fix="pick another port with --port N") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"wfx fake-llm: an OpenAI-compatible model at {server.base_url} (deterministic replies, no "
          f"network); point wfx at it with OPENAI_BASE_URL={server.base_url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK
