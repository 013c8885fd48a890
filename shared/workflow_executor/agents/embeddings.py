"""Text embeddings through the operator's OpenAI-compatible providers (the ``embeddings`` API of
the official ``openai`` client). A document may name a provider and a model, never a URL or a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import openai

from ..errors import InvalidModelOutput
from ..models import Usage
from .calls import classify
from .providers import Clients, price, provider_settings

if TYPE_CHECKING:
    from ..settings import Settings


@dataclass(frozen=True)
class Embedded:
    """One vector per text, in order, and what embedding them cost (priced as agent turns are:
    the provider's prices, else the server's)."""

    vectors: list[list[float]]
    usage: Usage


class Embedder:
    """``embed(provider, model, texts)``: one vector per text, in order. One client per provider
    for the life of the process; ``close()`` closes them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = settings.tools.timeout_s
        self._clients = Clients(settings)

    def __call__(self, provider: str | None, model: str, texts: Sequence[str]) -> Embedded:
        """Errors: NotFound / NoModelConfigured for the provider; the model errors of
        ``calls.classify`` (auth, not found, rate limited, unavailable ...); InvalidModelOutput
        when the answer does not hold one vector of numbers per text."""
        client, _ = self._clients.get(provider)
        try:
            resp = client.embeddings.create(model=model, input=list(texts), encoding_format="float",
                                            timeout=self.timeout_s)
        except openai.OpenAIError as exc:
            name = provider_settings(self.settings, provider).name
            raise classify(exc, provider=name, model=model, timeout_s=self.timeout_s) from None
        data = sorted(resp.data, key=lambda d: d.index)
        vectors = [d.embedding for d in data]
        if len(vectors) != len(texts) or not all(
                isinstance(v, list) and v and all(isinstance(x, int | float) for x in v) for v in vectors):
            raise InvalidModelOutput(f"the embeddings of model '{model}' are not one vector of numbers per text",
                                     fix="use an embedding model (e.g. text-embedding-3-small) on this provider")
        tokens = int(getattr(resp.usage, "prompt_tokens", 0) or 0)
        cost = price(self.settings, provider, model)
        usage = Usage(prompt_tokens=tokens, cost_usd=cost.cost(tokens, 0) if cost else 0.0)
        return Embedded([[float(x) for x in v] for v in vectors], usage)

    def close(self) -> None:
        self._clients.close()
