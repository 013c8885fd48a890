"""What the fake model answers: OpenAI-shaped completions and errors built from a reply (see
``fakellm.server``), and the deterministic default reply (schema-satisfying JSON or text)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

Reply = Any
Responder = Callable[[dict[str, Any]], Reply]

# OpenAI's error bodies: {"error": {"message", "type", "param", "code"}}
ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided. You can find your API key at "
          "https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 20ms."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def _tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else json.dumps(content)


def minimal_instance(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """The smallest JSON value that satisfies the common parts of a JSON Schema (types, required,
    enum/const, min lengths and counts, $ref into $defs, anyOf/oneOf/allOf)."""
    if not isinstance(schema, dict) or depth > 20:
        return None
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return minimal_instance(defs.get(name, {}), defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            return minimal_instance((options or schema[key])[0], defs, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return minimal_instance(merged, defs, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    if typ == "object":
        props = schema.get("properties", {})
        return {k: minimal_instance(props.get(k, {}), defs, depth + 1) for k in schema.get("required", [])}
    if typ == "array":
        return [minimal_instance(schema.get("items", {}), defs, depth + 1)
                for _ in range(int(schema.get("minItems", 0)))]
    if typ == "string":
        return "x" * int(schema.get("minLength", 0))
    if typ in ("integer", "number"):
        low: float = schema.get("minimum", schema.get("exclusiveMinimum", 0)) or 0
        value: float = max(0, math.ceil(low)) if typ == "integer" else max(0, low)
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            value = value + 1
        return value
    if typ == "boolean":
        return False
    return None


def default_reply(body: dict[str, Any]) -> Reply:
    """The deterministic answer: JSON that fits the requested schema, else text from the last user message."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return {"json": minimal_instance((fmt.get("json_schema") or {}).get("schema", {}))}
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    last = _content_text(users[-1].get("content")) if users else ""
    if fmt.get("type") == "json_object":
        return {"json": {"reply": last[:200]}}
    return f"reply to: {last[:200]}"


def completion(n: int, body: dict[str, Any], reply: Reply) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Turn one reply into (status, JSON body, extra headers); ``n`` numbers the completion."""
    opts: dict[str, Any] = reply if isinstance(reply, dict) else {}
    if "status" in opts and int(opts["status"]) >= 400:
        status = int(opts["status"])
        typ, code, text = ERRORS.get(status, ("invalid_request_error", None, "Error."))
        err = {"message": opts.get("message", text), "type": opts.get("type", typ),
               "param": opts.get("param"), "code": opts.get("code", code)}
        return status, {"error": err}, dict(opts.get("headers", {}))
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    finish = "stop"
    if isinstance(reply, str):
        message["content"] = reply
    elif "tool_calls" in opts:
        calls = []
        for i, call in enumerate(opts["tool_calls"]):
            args = call.get("arguments", {})
            calls.append({"id": call.get("id", f"call_{n}_{i}"), "type": "function",
                          "function": {"name": call["name"],
                                       "arguments": args if isinstance(args, str) else json.dumps(args)}})
        message["tool_calls"] = calls
        message["content"] = opts.get("text")
        finish = "tool_calls"
    elif "json" in opts:
        message["content"] = json.dumps(opts["json"])
    else:
        message["content"] = str(opts.get("text", ""))
    finish = opts.get("finish_reason", finish)
    prompt = sum(_tokens(_content_text(m.get("content"))) + 4 for m in body.get("messages", []))
    prompt += _tokens(json.dumps(body["tools"])) if body.get("tools") else 0
    completion = _tokens(message["content"] or "") + _tokens(json.dumps(message.get("tool_calls") or ""))
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, **opts.get("usage", {})}
    cap = body.get("max_completion_tokens", body.get("max_tokens"))
    if cap is not None and int(usage["completion_tokens"]) > int(cap):  # as a real server: never past the cap
        usage["completion_tokens"] = int(cap)
        finish = "length"
    usage["total_tokens"] = int(usage["prompt_tokens"]) + int(usage["completion_tokens"])
    return 200, {
        "id": f"chatcmpl-test{n}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "test-model"), "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }, {}


EMBEDDING_DIMS = 64


def hashed_embedding(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """The test server's embedding of ``text``: a hashed bag of words, L2-normalised, so texts
    sharing words are close (cosine) and the same text always gives the same vector."""
    import hashlib
    import re

    vec = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vec[int.from_bytes(digest[:4], "big") % dims] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm else vec


def embeddings(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """An OpenAI ``/v1/embeddings`` answer: ``input`` (a text or a list of texts) hashed as above,
    ``dimensions`` honoured, ``encoding_format`` float or base64 (little-endian float32)."""
    import base64
    import struct

    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        kind, code, _ = ERRORS[400]
        return 400, {"error": {"message": "'input' must be a string or a list of strings", "type": kind,
                               "param": "input", "code": code}}
    dims = int(body.get("dimensions") or EMBEDDING_DIMS)
    data = []
    for i, text in enumerate(texts):
        vec: Any = hashed_embedding(text, dims)
        if body.get("encoding_format") == "base64":
            vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vec})
    tokens = sum(_tokens(t) for t in texts)
    return 200, {"object": "list", "data": data, "model": body.get("model", ""),
                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
