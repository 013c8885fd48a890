"""The per-process MCP application: the Executor and the key ring built once for a set of
services. Holds no request or session state (the endpoint is stateless)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..api import Executor
from ..services import Services
from .auth import KeyRing

_CREATE = threading.Lock()
_ATTR = "_wfx_mcp_app"


@dataclass
class McpApp:
    """The executor and key ring of one set of services."""

    services: Services
    executor: Executor
    keys: KeyRing

    def now(self) -> float:
        """The engine clock's current time (seconds since the epoch)."""
        return self.executor.engine.clock.now()


def app_for(services: Services) -> McpApp:
    """The one McpApp of ``services``, created on first use and kept on the services object
    (so it lives exactly as long as they do; no module-level registry)."""
    app = getattr(services, _ATTR, None)
    if isinstance(app, McpApp):
        return app
    with _CREATE:
        app = getattr(services, _ATTR, None)
        if not isinstance(app, McpApp):
            app = McpApp(services, Executor(services), KeyRing(services.settings, services.key_source))
            setattr(services, _ATTR, app)
    return app
