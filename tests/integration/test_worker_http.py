"""The worker's HTTP edge on the Firestore store: authentication, delivery semantics, budget."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from workflow_executor import worker_http
from workflow_executor.api import Executor
from workflow_executor.errors import WfxError
from workflow_executor.models import Execution, ExecutionMode
from workflow_executor.ports import TaskRequest
from workflow_executor.services import Services
from workflow_executor.settings import Settings

SECRET = {"X-Wfx-Worker-Secret": "s3cret"}
TRACED = """
workflows:
  traced:
    steps:
      - {id: a, function: tests.e2e.fixtures.append_line, args: {path: "${input.log}", line: a}}
      - {id: b, function: tests.e2e.fixtures.append_line, args: {path: "${input.log}", line: b}}
      - {id: c, function: tests.e2e.fixtures.append_line, args: {path: "${input.log}", line: c}}
"""
SLOW = """
workflows:
  slow:
    steps:
      - {id: a, function: tests.e2e.fixtures.pause, args: {seconds: 0.6}}
      - {id: b, function: tests.e2e.fixtures.pause, args: {seconds: 0.6}}
      - {id: c, function: tests.e2e.fixtures.pause, args: {seconds: 0.1}}
"""


def queued(svc: Services, text: str, name: str, data: Any = None) -> Execution:
    """An async execution stored and (by the recording queue) not delivered."""
    return Executor(svc).submit(name, data, workflow=text, mode=ExecutionMode.ASYNC)


def deliver(svc: Services, body: Any, headers: dict[str, str] | None = None,
            method: str = "POST") -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = worker_http.handle(svc, method, {**SECRET, **(headers or {})} if headers is not None else SECRET, raw)
    return resp.status, json.loads(resp.body)


def test_a_delivery_runs_the_execution_and_answers_200(queued_services, tmp_path: Path):
    svc, _ = queued_services
    log = tmp_path / "log"
    ex = queued(svc, TRACED, "traced", {"log": str(log)})
    assert deliver(svc, {"execution_id": ex.id, "segment": 0}) == (200, {"status": "completed", "message": ""})
    assert log.read_text().split() == ["a", "b", "c"]


def test_the_same_task_delivered_twice_runs_each_step_once(queued_services, tmp_path: Path):
    svc, _ = queued_services
    log = tmp_path / "log"
    ex = queued(svc, TRACED, "traced", {"log": str(log)})
    first = deliver(svc, {"execution_id": ex.id, "segment": 0})
    again = deliver(svc, {"execution_id": ex.id, "segment": 0})
    assert (first[0], first[1]["status"], again[0], again[1]["status"]) == (200, "completed", 200, "conflict")
    assert log.read_text().split() == ["a", "b", "c"]


def test_a_delivery_while_another_runner_holds_the_lease_answers_409(queued_services, tmp_path: Path):
    svc, _ = queued_services
    ex = queued(svc, TRACED, "traced", {"log": str(tmp_path / "log")})
    svc.store.acquire_lease(ex.id, "elsewhere", 60.0, svc.engine.clock.now())
    status, body = deliver(svc, {"execution_id": ex.id})
    assert (status, body["status"]) == (409, "busy")
    assert not (tmp_path / "log").exists()


def test_a_run_past_its_budget_hands_over_to_the_next_segment(queued_services):
    svc, q = queued_services
    ex = queued(svc, SLOW, "slow")
    q.requests.clear()
    deadline = {"X-Wfx-Dispatch-Deadline-S": "6"}  # less the 5 s margin: a budget of 1 s
    assert deliver(svc, {"execution_id": ex.id, "segment": 0}, deadline)[1]["status"] == "handed_over"
    assert q.requests == [TaskRequest(ex.id, segment=1, group=ex.workflow_name)]
    current = svc.store.get(ex.id)
    assert current is not None and (current.status, current.lease_owner, len(current.steps)) == ("running", None, 2)
    assert deliver(svc, {"execution_id": ex.id, "segment": 1}, deadline)[1]["status"] == "completed"


def test_calls_without_the_secret_or_a_google_token_are_refused(queued_services):
    svc, _ = queued_services
    body = {"execution_id": "x"}
    unsigned = ".".join(base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=")
                        for p in ({"alg": "none"}, {"email": "tasks@x"})) + "."
    cases = {
        "none": ({}, 401),
        "wrong secret": ({"X-Wfx-Worker-Secret": "guess"}, 403),
        "unsigned token": ({"Authorization": f"Bearer {unsigned}"}, 403),
    }
    for name, (headers, expected) in cases.items():
        resp = worker_http.handle(svc, "POST", headers, json.dumps(body).encode())
        assert resp.status == expected, name
    assert worker_http.handle(svc, "GET", SECRET, b"").status == 405


def test_a_malformed_task_is_rejected_with_400(queued_services):
    svc, _ = queued_services
    for body in (b"not json", b"[]", b'{"segment": 1}', b'{"execution_id": "x", "segment": "1"}'):
        status, answer = deliver(svc, body)
        assert (status, answer["error"]["code"]) == (400, "invalid_argument")


def test_the_budget_is_the_dispatch_deadline_less_a_margin():
    assert worker_http.budget_s("1800", 600) == 1740
    assert worker_http.budget_s("30", 600) == 25
    assert worker_http.budget_s(None, 600) == 540
    assert worker_http.budget_s("junk", 100) == 90


def google_like_token(claims: dict[str, Any]) -> tuple[str, Any]:
    """An RS256 ID token signed by a fresh key, and a transport serving that key's certificate
    the way Google's certificate endpoint does."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from google.auth import crypt, jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    signer = crypt.RSASigner.from_string(pem, key_id="k1")
    token = jwt.encode(signer, {"iss": "https://accounts.google.com", "email_verified": True,
                                "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 600, **claims})
    certs = json.dumps({"k1": cert.public_bytes(serialization.Encoding.PEM).decode()}).encode()

    class Served:
        status, data, headers = 200, certs, {}

    return token.decode(), lambda url, method="GET", **kw: Served()


def test_a_google_signed_token_of_the_tasks_service_account_is_accepted(monkeypatch):
    sa, url = "tasks@wfx.iam.gserviceaccount.com", "https://worker-abc.a.run.app"
    settings = Settings(worker_url=url, tasks_service_account=sa)
    cases = {
        "configured audience": ({"email": sa, "aud": url}, "worker-other.run.app", None),
        "the url it came in on": ({"email": sa, "aud": "https://worker-xyz.run.app"}, "worker-xyz.run.app", None),
        "another account": ({"email": "intruder@x.iam.gserviceaccount.com", "aud": url}, None, "forbidden"),
        "another audience": ({"email": sa, "aud": "https://elsewhere.run.app"}, "worker-xyz.run.app", "forbidden"),
    }
    for name, (claims, host, error) in cases.items():
        token, transport = google_like_token(claims)
        monkeypatch.setattr(worker_http, "_cert_request", lambda t=transport: t)
        headers = {"authorization": f"Bearer {token}", **({"host": host} if host else {})}
        if error is None:
            assert worker_http.authenticate(settings, headers) == "oidc", name
        else:
            with pytest.raises(WfxError) as info:
                worker_http.authenticate(settings, headers)
            assert info.value.code == error, name
