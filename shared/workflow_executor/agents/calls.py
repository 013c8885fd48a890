"""One model call through the official ``openai`` client: bounded retries with backoff for what a
retry can fix (429, 5xx, timeouts, broken connections), and every failure mapped to an error with
a code and a fix. The endpoint's own messages are untrusted and never repeated for auth errors
(they can echo part of the key)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import openai

from ..errors import (
    ContentFiltered,
    ContextTooLong,
    ModelAuthFailed,
    ModelNotFound,
    ModelRateLimited,
    ModelRequestRejected,
    ModelUnavailable,
    WfxError,
)

MAX_BACKOFF_S = 30.0
# What a chat request adds around its text: OpenAI documents 3 tokens a message (+1 for a name)
# and 3 to start the reply; we count 4 and 3.
FRAME_TOKENS_PER_MESSAGE = 4
FRAME_TOKENS_PER_REQUEST = 3
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})


def _short(text: Any, limit: int = 300) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def classify(exc: Exception, *, provider: str, model: str, timeout_s: float) -> WfxError:
    """The WfxError for an ``openai`` client exception (``retryable`` says whether to try again)."""
    where = f"model '{model}' at provider '{provider}'"
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailable(f"{where} did not answer within {timeout_s:g} s",
                                fix="retry later, or raise the agent's timeout")
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable(f"{where} could not be reached", fix="check that the endpoint is up and reachable")
    if not isinstance(exc, openai.APIStatusError):
        return ModelUnavailable(f"{where} failed: {type(exc).__name__}", fix="retry later")
    status, code = exc.status_code, getattr(exc, "code", None)
    message = _short(getattr(exc, "message", ""))
    if status in (401, 403):
        return ModelAuthFailed(f"{where} refused the server's API key (HTTP {status})",
                               fix="the operator must set a valid key for this provider "
                               "(OPENAI_API_KEY, or the provider's api_key_env)", status=status)
    if status == 404:
        return ModelNotFound(f"{where} does not exist or is not served there",
                             fix="use a model the endpoint serves (GET /v1/models), or set the agent's model "
                             "or WFX_MODEL", status=status)
    if status == 429:
        err = ModelRateLimited(f"{where} is rate limited: {message}", fix="retry later, or lower the request rate",
                               status=status)
        if code == "insufficient_quota":  # no amount of waiting brings quota back
            err.retryable = False
            err.fix = "the operator must add credit or quota for this provider"
        return err
    if status == 413 or code in _CONTEXT_CODES or "context length" in message.lower():
        return ContextTooLong(f"the conversation is too long for {where}: {message}",
                              fix="shorten the step's input or the tool results, or use a model with a "
                              "longer context", status=status)
    if code in _FILTER_CODES:
        return ContentFiltered(f"{where} refused the content: {message}", fix="change the input or prompt",
                               status=status)
    if status >= 500:
        return ModelUnavailable(f"{where} failed with HTTP {status}: {message}", fix="retry later",
                                status=status)
    return ModelRequestRejected(f"{where} rejected the request (HTTP {status}): {message}",
                                fix="check the agent's settings (model, max_tokens, temperature, "
                                "response_format)", status=status)


def backoff(attempt: int, base_s: float, exc: Exception) -> float:
    """Seconds before retry ``attempt`` (1 = the first retry): the server's Retry-After when it
    sends one, else ``base_s`` doubling; never more than MAX_BACKOFF_S."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return min(max(float(value) * scale, 0.0), MAX_BACKOFF_S)
            except ValueError:
                pass
    return min(base_s * 2.0 ** (attempt - 1), MAX_BACKOFF_S)


def create(client: openai.OpenAI, params: dict[str, Any], *, provider: str, timeout_s: float, retries: int,
           backoff_s: float, sleep: Callable[[float], None]) -> Any:
    """``client.chat.completions.create(**params)`` with up to ``retries`` retries of retryable
    failures. ``sleep`` waits between attempts (and raises Cancelled if the run is cancelled)."""
    attempt = 0
    while True:
        try:
            return client.chat.completions.create(**params, timeout=timeout_s)
        except openai.OpenAIError as exc:
            err = classify(exc, provider=provider, model=str(params.get("model")), timeout_s=timeout_s)
            if not err.retryable or attempt >= retries:
                err.details["model_attempts"] = attempt + 1
                raise err from None
            attempt += 1
            sleep(backoff(attempt, backoff_s, exc))


def prompt_bound(request: Mapping[str, Any]) -> int:
    """An upper estimate of the prompt tokens of a chat request (``messages``, ``tools``,
    ``response_format``): one token per UTF-8 byte of its text and JSON, plus the framing of each
    message. A token of a byte-level BPE tokenizer (every OpenAI model's) is at least one byte,
    so a server never counts more, unless it frames messages or renders tools longer than that."""
    size = FRAME_TOKENS_PER_REQUEST
    for m in request.get("messages") or ():
        size += FRAME_TOKENS_PER_MESSAGE
        for key in ("content", "tool_calls", "name"):
            value = m.get(key)
            if value:
                size += len((value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).encode())
    for key in ("tools", "response_format"):
        if request.get(key):
            size += len(json.dumps(request[key], ensure_ascii=False).encode())
    return size
