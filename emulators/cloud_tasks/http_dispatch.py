"""One task attempt over HTTP: build the request the real service would send, send it, classify the result."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from google.cloud.tasks_v2 import types
from google.rpc import code_pb2

from .names import short_id
from .oidc import oauth_token, oidc_token
from .timeutil import from_duration, from_timestamp

USER_AGENT = "Google-Cloud-Tasks"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Headers the service computes itself or reserves; task-supplied values for them are dropped.
_RESERVED_HEADERS = frozenset({"host", "content-length", "user-agent"})
_RESERVED_PREFIXES = ("x-google-", "x-appengine-", "x-cloudtasks-")

# google.rpc.Code for an HTTP status, following the mapping documented in google/rpc/code.proto.
_RPC_CODE_FOR_HTTP = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    409: code_pb2.ABORTED,
    429: code_pb2.RESOURCE_EXHAUSTED,
    499: code_pb2.CANCELLED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}


@dataclass(frozen=True)
class HttpCall:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


@dataclass(frozen=True)
class Outcome:
    http_status: int | None  # None: no response (connection error or dispatch deadline exceeded)
    rpc_code: int
    message: str
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


class _Headers:
    """Case-insensitive header map that keeps the spelling of the last writer."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def set(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def set_from_user(self, name: str, value: str) -> None:
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            return
        self.set(name, value)

    def as_dict(self) -> dict[str, str]:
        return dict(self._items.values())


def _authorization(request: Any, target: Any | None, now: float) -> str | None:
    # A queue-level HttpTarget token, when configured, replaces the task's own.
    source = target if target is not None and target.WhichOneof("authorization_header") else request
    kind = source.WhichOneof("authorization_header")
    if kind == "oidc_token":
        token = source.oidc_token
        audience = token.audience or request.url
        return "Bearer " + oidc_token(service_account_email=token.service_account_email, audience=audience, now=now)
    if kind == "oauth_token":
        token = source.oauth_token
        return "Bearer " + oauth_token(service_account_email=token.service_account_email, scope=token.scope)
    return None


def build_call(
    task: Any,
    queue: Any,
    *,
    retry_count: int,
    execution_count: int,
    previous_response: int | None,
    now: float,
) -> HttpCall:
    """The request for one attempt of `task` (raw Task) in `queue` (raw Queue)."""
    request = task.http_request
    target = queue.http_target if queue.HasField("http_target") else None
    method_value = (target.http_method if target is not None else 0) or request.http_method
    method = types.HttpMethod(method_value or types.HttpMethod.POST).name

    headers = _Headers()
    for name, value in request.headers.items():
        headers.set_from_user(name, value)
    if target is not None:
        for override in target.header_overrides:
            headers.set_from_user(override.header.key, override.header.value)
    authorization = _authorization(request, target, now)
    if authorization is not None:
        headers.set("Authorization", authorization)
    headers.set("User-Agent", USER_AGENT)
    headers.set("X-CloudTasks-QueueName", short_id(queue.name))
    headers.set("X-CloudTasks-TaskName", short_id(task.name))
    headers.set("X-CloudTasks-TaskRetryCount", str(retry_count))
    headers.set("X-CloudTasks-TaskExecutionCount", str(execution_count))
    headers.set("X-CloudTasks-TaskETA", f"{from_timestamp(task.schedule_time):.6f}")
    if previous_response is not None:
        headers.set("X-CloudTasks-TaskPreviousResponse", str(previous_response))

    # A queue override to a body-less method drops the body at execution time, as documented.
    body = request.body if method in _BODY_METHODS else b""
    return HttpCall(method, request.url, headers.as_dict(), body, from_duration(task.dispatch_deadline))


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # HTTP-date forms are not worth supporting in an emulator
    return float(value.strip())


def send(call: HttpCall) -> Outcome:
    """Perform the call. The timeout applies per socket operation, so the deadline is approximate."""
    parts = urlsplit(call.url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = connection_type(parts.hostname or "", parts.port, timeout=call.timeout)
    except ValueError as exc:  # e.g. a non-numeric port
        return Outcome(None, code_pb2.INVALID_ARGUMENT, f"invalid url {call.url!r}: {exc}")
    try:
        connection.request(
            call.method,
            path,
            body=call.body if call.method in _BODY_METHODS else None,
            headers=call.headers,
        )
        response = connection.getresponse()
        response.read()
    except TimeoutError:
        return Outcome(None, code_pb2.DEADLINE_EXCEEDED, f"no response within the {call.timeout}s dispatch deadline")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, code_pb2.UNAVAILABLE, f"dispatch to {call.url} failed: {exc!r}")
    finally:
        connection.close()
    status = response.status
    rpc_code = code_pb2.OK if 200 <= status < 300 else _RPC_CODE_FOR_HTTP.get(status, code_pb2.UNKNOWN)
    return Outcome(status, rpc_code, f"HTTP status code {status}", _retry_after(response.getheader("Retry-After")))
