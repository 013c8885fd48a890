"""The per-process MCP application: the Executor and the key ring built once for a set of
services. Holds no request or session state (the endpoint is stateless)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .auth import KeyRing

if TYPE_CHECKING:
    from ..api import Executor
    from ..services import Services

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
            if services.executor is None:  # the entry point builds it: api.Executor(services)
                raise RuntimeError("these services have no Executor yet; build one with api.Executor(services)")
            app = McpApp(services, services.executor, KeyRing(services.settings, services.key_source))
            setattr(services, _ATTR, app)
    return app
