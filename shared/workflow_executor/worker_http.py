"""The worker function's HTTP edge: authenticate the Cloud Tasks call, parse the task, run it
within the dispatch deadline, and map the outcome onto the status Cloud Tasks acts on
(2xx done; anything else is retried with the queue's backoff)."""

from __future__ import annotations

import base64
import functools
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Forbidden, InvalidArgument, Unauthorized, WfxError
from .ports import TaskRequest
from .settings import Settings
from .sweeper import sweep
from .worker import handle_task

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

SECRET_HEADER = "x-wfx-worker-secret"
DEADLINE_HEADER = "x-wfx-dispatch-deadline-s"  # set by adapters.cloud_tasks on every task
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CERTS_TTL_S = 3600.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def _json(http_status: int, **body: Any) -> Response:
    return Response(http_status, json.dumps(body).encode())


def handle(services: Services, method: str, headers: dict[str, str], body: bytes, path: str = "/") -> Response:
    """One delivery. 401/403 unauthenticated, 400 malformed, else the worker outcome
    (200 done, 409 lease held elsewhere, 503 retry). ``/sweep`` (Cloud Scheduler, with the same
    credentials as a task) runs one sweep instead: 200 with what it did, 503 on a store error."""
    if method != "POST":
        return Response(405, b'{"error": "POST only"}', {"Content-Type": "application/json", "Allow": "POST"})
    h = {k.lower(): v for k, v in headers.items()}
    try:
        authenticate(services.settings, h)
        if path.rstrip("/").endswith("/sweep"):
            return _sweep(services)
        request = parse_task(body)
    except WfxError as exc:
        status = {"unauthorized": 401, "forbidden": 403}.get(exc.code, 400)
        return _json(status, status="rejected", error=exc.to_dict())
    budget = budget_s(h.get(DEADLINE_HEADER), services.settings.tasks_dispatch_deadline_s)
    retries = h.get("x-cloudtasks-taskretrycount", "0")
    started = time.monotonic()
    outcome = handle_task(services, request, budget_s=budget)
    flush = getattr(services.events, "flush", None)
    if flush is not None:  # the instance may lose its CPU once it answers: send the events now
        flush()
    log.info("task %s segment %d (retry %s): %s in %.3fs", request.execution_id, request.segment, retries,
             outcome.status, time.monotonic() - started)
    return _json(outcome.http_status, status=outcome.status, message=outcome.message)


def _sweep(services: Services) -> Response:
    try:
        report = sweep(services)
    except WfxError as exc:
        return _json(503 if exc.retryable else 500, status="error", error=exc.to_dict())
    flush = getattr(services.events, "flush", None)
    if flush is not None:
        flush()
    return _json(200, status="swept", **report.to_dict())


def parse_task(body: bytes) -> TaskRequest:
    """``{"execution_id": str, "segment": int}``. Errors: InvalidArgument."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise InvalidArgument("the task body is not JSON", fix='send {"execution_id": ..., "segment": 0}') from None
    if not isinstance(data, dict) or not isinstance(data.get("execution_id"), str) or not data["execution_id"]:
        raise InvalidArgument("the task body needs an execution_id string", fix='send {"execution_id": ...}')
    segment = data.get("segment", 0)
    if not isinstance(segment, int) or isinstance(segment, bool):
        raise InvalidArgument("segment must be an integer")
    return TaskRequest(data["execution_id"], segment=segment)


def budget_s(header: str | None, default_deadline_s: float) -> float:
    """The run budget: the task's dispatch deadline less a margin to hand over and answer."""
    try:
        deadline = float(header) if header else default_deadline_s
    except ValueError:
        deadline = default_deadline_s
    margin = min(max(0.1 * deadline, 5.0), 60.0)
    return max(deadline - margin, 1.0)


def authenticate(settings: Settings, headers: dict[str, str]) -> str:
    """Accept the shared secret (local and emulated runs) or a Google-signed OIDC token of the
    tasks service account whose audience is this worker. Returns how the caller proved itself.
    Errors: Unauthorized (no credentials), Forbidden (wrong ones)."""
    given = headers.get(SECRET_HEADER)
    if given is not None and settings.worker_secret:
        if hmac.compare_digest(given.encode(), settings.worker_secret.encode()):
            return "secret"
        raise Forbidden("the worker secret does not match", fix="send the configured WFX_WORKER_SECRET")
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        verify_oidc(auth[7:].strip(), settings, headers.get("host"))
        return "oidc"
    raise Unauthorized("the worker accepts Cloud Tasks calls only",
                       fix="send an OIDC token of the tasks service account (or the worker secret locally)")


def verify_oidc(token: str, settings: Settings, host: str | None) -> None:
    """Check the token's Google signature, issuer, audience and service account email."""
    if not settings.tasks_service_account:
        raise Forbidden("OIDC tokens are not accepted: no tasks service account is configured",
                        fix="set WFX_TASKS_SERVICE_ACCOUNT")
    if _jwt_header(token).get("alg") != "RS256":  # Google signs ID tokens with RS256, nothing else
        raise Forbidden("the bearer token is not a Google-signed ID token")
    from google.oauth2 import id_token

    audiences = [a for a in _audiences(settings.worker_url, host) if a]
    try:
        claims = id_token.verify_token(token, _cert_request(), audience=audiences or None)
    except Exception as exc:  # google-auth raises ValueError and transport errors alike
        raise Forbidden(f"the OIDC token was rejected: {exc}") from None
    if claims.get("iss") not in GOOGLE_ISSUERS or claims.get("email") != settings.tasks_service_account \
            or not claims.get("email_verified"):
        raise Forbidden("the OIDC token is not from the tasks service account")


def _jwt_header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".", 1)[0]
        value = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _audiences(worker_url: str | None, host: str | None) -> list[str]:
    # The enqueuer sets audience = the URL it posts to; a Cloud Run service has two URLs, so the
    # one this request came in on (its Host) is accepted besides the configured one.
    out = []
    for url in (worker_url, f"https://{host}" if host else None):
        if url:
            out += [url.rstrip("/"), url.rstrip("/") + "/"]
    return out


@functools.cache
def _cert_request() -> Any:
    """A transport that caches Google's public certificates (fetched once an hour, not per task)."""
    from google.auth.transport import requests as google_requests

    inner = google_requests.Request()
    cache: dict[str, tuple[float, Any]] = {}

    def request(url: str, method: str = "GET", **kwargs: Any) -> Any:
        hit = cache.get(url)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        response = inner(url, method=method, **kwargs)
        if response.status == 200:
            cache[url] = (time.monotonic() + CERTS_TTL_S, response)
        return response

    return request
