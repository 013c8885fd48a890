"""Cloud Functions entrypoints: parse the transport, call the library, map the result.

``mcp`` (HTTP): the MCP/JSON-RPC endpoint. ``worker`` (HTTP): the Cloud Tasks target (and
Cloud Scheduler's ``/sweep``).
``events`` (CloudEvent): Pub/Sub messages. Services are built once per instance, lazily, so a
cold start imports only what the first request needs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import flask
import functions_framework

if TYPE_CHECKING:
    from workflow_executor.services import Services


@functools.cache
def services() -> Services:
    # imported with the first request: an instance starts listening before the library loads
    from workflow_executor.api import Executor
    from workflow_executor.services import build

    built = build()
    Executor(built)  # the services' Executor: the MCP app, the worker's in-run starts and triggers use it
    return built


def _to_flask(resp: Any) -> flask.Response:
    return flask.Response(resp.body, status=resp.status, headers=dict(resp.headers))


@functions_framework.http
def mcp(request: flask.Request) -> flask.Response:
    from workflow_executor.mcp.http import handle, too_large

    limit = services().settings.max_body_bytes
    if (request.content_length or 0) > limit:  # refuse before reading: nothing is buffered
        return _to_flask(too_large(limit, request.content_length))
    body = request.stream.read(limit + 1)  # a chunked body without a length is cut past the limit
    resp = handle(services(), request.method, request.path, dict(request.headers), body,
                  request.query_string.decode("latin-1"))
    if resp.stream is not None:  # server-sent events; the events a run makes are flushed at the end
        return flask.Response(_streamed(resp.body, resp.stream), status=resp.status, headers=dict(resp.headers))
    _flush_events()
    return _to_flask(resp)


def _streamed(first: bytes, rest: Any) -> Any:
    yield first
    try:
        yield from rest
    finally:
        _flush_events()


def _flush_events() -> None:
    # An instance may lose its CPU once it has answered: send the events a sync run made now.
    flush = getattr(services().events, "flush", None)
    if flush is not None:
        flush()


@functions_framework.http
def worker(request: flask.Request) -> flask.Response:
    from workflow_executor.worker_http import handle

    return _to_flask(handle(services(), request.method, dict(request.headers), request.get_data(cache=False),
                          request.path))


@functions_framework.cloud_event
def events(event: Any) -> None:
    from workflow_executor.events import handle_cloud_event

    handle_cloud_event(services(), dict(event.get_attributes()), event.get_data())
