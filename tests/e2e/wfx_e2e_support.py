"""Clients of a running stack for the end-to-end tests and the bench: JSON-RPC to the MCP
function, raw deliveries to the worker and events functions."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from itertools import count
from typing import Any

PROJECT = "wfx-e2e"
TRIGGER_TOPIC = "orders"
LEASE_TTL_S = 2.0  # short, so a killed worker's lease expires quickly in the fault tests
SWEEP_INTERVAL_S = 1.0  # the stack's stand-in for the Cloud Scheduler sweep job
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ids = count(1)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def rpc(url: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON-RPC call; returns the result (raises AssertionError on a JSON-RPC error)."""
    body = json.dumps({"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params or {}}).encode()
    status, raw = post(url, body, {"Content-Type": "application/json", "Accept": "application/json"})
    answer = json.loads(raw)
    assert status == 200 and "result" in answer, answer
    return dict(answer["result"])


def tool(url: str, name: str, **arguments: Any) -> dict[str, Any]:
    """``tools/call``; returns the structured content (AssertionError when the tool failed)."""
    result = rpc(url, "tools/call", {"name": name, "arguments": arguments})
    assert not result.get("isError"), result
    return dict(result["structuredContent"])


def push_body(subscription: str, message_id: str, data: Any, attributes: dict[str, str],
              publish_time: str = "2026-01-01T00:00:00Z") -> bytes:
    """What a Pub/Sub push subscription POSTs for one message (a redelivery keeps its id and
    its publish time)."""
    return json.dumps({"subscription": subscription, "message": {
        "data": base64.b64encode(json.dumps(data).encode()).decode(), "attributes": attributes,
        "messageId": message_id, "publishTime": publish_time}}).encode()
