"""Which OpenAI-compatible endpoint an agent talks to, and with which key.

Endpoints belong to the operator (``settings``): the default one from OPENAI_API_KEY /
OPENAI_BASE_URL, named ones from WFX_PROVIDERS. An agent picks a provider by name only, so the
server's key never goes to a host the operator did not name.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..errors import NoModelConfigured, NotFound
from ..settings_llm import DEFAULT_PROVIDER, ModelPrice, ProviderSettings, default_provider, price_for

if TYPE_CHECKING:
    import openai

    from ..settings import Settings

# the openai client refuses an empty key; local servers (Ollama, vLLM, llama.cpp) ignore it
_KEYLESS = "not-needed"


def configured(settings: Settings) -> bool:
    """True when agent steps can reach some model endpoint."""
    return bool(settings.providers) or default_provider(settings.openai_api_key, settings.openai_base_url,
                                                        settings.model) is not None


def provider_settings(settings: Settings, provider: str | None) -> ProviderSettings:
    """The provider an agent names, or the default one. Errors: NotFound for an unknown name,
    NoModelConfigured when nothing is configured."""
    default = default_provider(settings.openai_api_key, settings.openai_base_url, settings.model)
    if provider == "openai" and provider not in settings.providers:
        provider = None  # LangSwarm's vendor name: the server's default OpenAI endpoint
    if provider and provider != DEFAULT_PROVIDER:
        found = settings.providers.get(provider)
        if found is None:
            names = ", ".join(sorted(settings.providers)) or "(none configured)"
            raise NotFound(f"provider '{provider}' is not configured on this server",
                           fix=f"use one of: {names}, or ask the operator to add it to WFX_PROVIDERS")
        return found
    if default is not None:
        return default
    if len(settings.providers) == 1:  # the only endpoint there is
        return next(iter(settings.providers.values()))
    if settings.providers:
        raise NoModelConfigured("this agent names no provider and the server has no default endpoint",
                                fix=f"set the agent's provider to one of: {', '.join(sorted(settings.providers))}")
    raise NoModelConfigured("no model endpoint is configured on this server",
                            fix="set OPENAI_API_KEY (and OPENAI_BASE_URL for another endpoint) or WFX_PROVIDERS")


def default_model(settings: Settings, provider: str | None) -> str | None:
    """The model an agent naming no model runs on with ``provider`` (None: the server has none)."""
    try:
        conf = provider_settings(settings, provider)
    except (NoModelConfigured, NotFound):
        return None
    return conf.default_model or settings.model


def client_for(settings: Settings, provider: str | None, *,
               timeout_s: float = 60.0) -> tuple[openai.OpenAI, str | None]:
    """A new ``openai.OpenAI`` client for ``provider`` (None: the default) and that provider's
    default model (else WFX_MODEL). The client does not retry: the agent runner does, with its
    own bounded backoff. Errors: as ``provider_settings``."""
    import openai

    conf = provider_settings(settings, provider)
    client = openai.OpenAI(api_key=conf.api_key or _KEYLESS, base_url=conf.base_url, max_retries=0,
                           timeout=timeout_s)
    return client, conf.default_model or settings.model


def price(settings: Settings, provider: str | None, model: str) -> ModelPrice | None:
    """The provider's price for ``model``, else the server's table (defaults + WFX_PRICES)."""
    conf = provider_settings(settings, provider)
    return price_for(model, conf.prices, settings.prices)


class Clients:
    """One client per provider for the life of a process (clients keep connections open)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[openai.OpenAI, str | None]] = {}

    def get(self, provider: str | None) -> tuple[openai.OpenAI, str | None]:
        key = provider_settings(self.settings, provider).name
        with self._lock:
            if key not in self._clients:
                self._clients[key] = client_for(self.settings, provider)
            return self._clients[key]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client, _ in clients:
            client.close()
