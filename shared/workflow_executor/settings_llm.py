"""The operator's LLM settings: endpoints (providers), keys, default model, price table.

Parsed by ``Settings.from_env`` from the environment it was handed (this module reads no
environment itself). A workflow document can name a provider, never a URL or a key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidArgument

DEFAULT_PROVIDER = "default"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_usd_per_mtok + completion_tokens * self.output_usd_per_mtok) / 1e6


# A few common OpenAI models (list prices, USD per 1M tokens); the operator extends or overrides
# them with WFX_PRICES or a provider's "prices".
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o4-mini": ModelPrice(1.10, 4.40),
    # embeddings (bigquery_vector_search's queries): input tokens only
    "text-embedding-3-small": ModelPrice(0.02, 0.0),
    "text-embedding-3-large": ModelPrice(0.13, 0.0),
    "text-embedding-ada-002": ModelPrice(0.10, 0.0),
}


@dataclass(frozen=True)
class ProviderSettings:
    """One OpenAI-compatible endpoint the operator named. ``api_key`` is the resolved secret."""

    name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    default_model: str | None = None
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)


def price_for(model: str, *tables: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price of ``model`` from the first table that knows it: an exact name, else the longest
    name it starts with (dated variants such as ``gpt-4o-mini-2024-07-18``)."""
    for table in tables:
        if model in table:
            return table[model]
        best = max((k for k in table if model.startswith(k + "-")), key=len, default=None)
        if best is not None:
            return table[best]
    return None


def parse_prices(raw: Any, where: str) -> dict[str, ModelPrice]:
    """``{model: {"input": usd_per_1M, "output": usd_per_1M}}``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidArgument(f"{where} is not valid JSON: {exc}",
                                  fix='write {"model": {"input": 0.15, "output": 0.6}} (USD per 1M tokens)') from None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{where} must be an object of model -> price",
                              fix='write {"model": {"input": 0.15, "output": 0.6}} (USD per 1M tokens)')
    out: dict[str, ModelPrice] = {}
    for model, price in raw.items():
        ok = isinstance(price, dict) and all(
            isinstance(price.get(k), int | float) and price[k] >= 0 for k in ("input", "output"))
        if not ok:
            raise InvalidArgument(f"{where}.{model} must have numeric 'input' and 'output' (USD per 1M tokens)",
                                  fix='write {"input": 0.15, "output": 0.6}')
        out[str(model)] = ModelPrice(float(price["input"]), float(price["output"]))
    return out


def parse_providers(raw: str | None, env: Mapping[str, str]) -> dict[str, ProviderSettings]:
    """``WFX_PROVIDERS``: ``{name: {base_url, api_key_env?, model?, prices?}}``; each key is read
    from the variable ``api_key_env`` names (a local server may need none)."""
    if not raw:
        return {}
    fix = ('write {"ollama": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1"}} '
           '(optionally "api_key_env" and "prices")')
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"WFX_PROVIDERS is not valid JSON: {exc}", fix=fix) from None
    if not isinstance(obj, dict):
        raise InvalidArgument("WFX_PROVIDERS must be a JSON object of name -> provider", fix=fix)
    out: dict[str, ProviderSettings] = {}
    known = {"base_url", "api_key_env", "model", "default_model", "models", "prices", "description"}
    for name, conf in obj.items():
        where = f"WFX_PROVIDERS.{name}"
        if not _NAME.match(str(name)) or name == DEFAULT_PROVIDER:
            raise InvalidArgument(f"{where}: a provider name is 1-64 letters, digits, '_', '-' or '.' "
                                  f"and not '{DEFAULT_PROVIDER}'", fix="rename the provider")
        if not isinstance(conf, dict):
            raise InvalidArgument(f"{where} must be an object", fix=fix)
        unknown = sorted(set(conf) - known)
        if unknown:
            raise InvalidArgument(f"{where} has unknown keys: {', '.join(unknown)}",
                                  fix=f"use only: {', '.join(sorted(known))}")
        base_url = conf.get("base_url")
        if not isinstance(base_url, str) or not re.match(r"^https?://", base_url):
            raise InvalidArgument(f"{where}.base_url must be an http(s) URL", fix=fix)
        key_env = conf.get("api_key_env")
        if key_env is not None and not (isinstance(key_env, str) and key_env):
            raise InvalidArgument(f"{where}.api_key_env must name an environment variable", fix=fix)
        if key_env and not env.get(key_env):
            raise InvalidArgument(f"{where}.api_key_env names {key_env}, which is not set",
                                  fix=f"set {key_env} for the server, or remove api_key_env for a keyless server")
        model = conf.get("model", conf.get("default_model"))
        if model is not None and not isinstance(model, str):
            raise InvalidArgument(f"{where}.model must be a model name", fix=fix)
        prices = parse_prices(conf.get("prices", {}), f"{where}.prices")
        out[str(name)] = ProviderSettings(name=str(name), base_url=base_url.rstrip("/"),
                                          api_key=env.get(key_env) if key_env else None, api_key_env=key_env,
                                          default_model=model, prices=prices)
    return out


def default_provider(api_key: str | None, base_url: str | None, model: str | None) -> ProviderSettings | None:
    """OPENAI_API_KEY / OPENAI_BASE_URL: configured when either is set (a local server may need no key)."""
    if not api_key and not base_url:
        return None
    if base_url and not re.match(r"^https?://", base_url):
        raise InvalidArgument("OPENAI_BASE_URL must be an http(s) URL", fix="e.g. http://127.0.0.1:11434/v1")
    return ProviderSettings(name=DEFAULT_PROVIDER, base_url=base_url.rstrip("/") if base_url else None,
                            api_key=api_key or None, api_key_env="OPENAI_API_KEY" if api_key else None,
                            default_model=model)
