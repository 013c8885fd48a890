"""One stack of real processes per session: the three functions under functions-framework and
our Cloud Tasks emulator, on the session's Firestore and Pub/Sub emulators (project wfx-e2e).
It stops, by process group, at the end of the session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from wfx_e2e_support import LEASE_TTL_S, PROJECT, SWEEP_INTERVAL_S, TRIGGER_TOPIC, post, push_body, rpc
from workflow_executor.services import Services, build
from workflow_executor.settings import Settings

from emulators import session as emulators
from emulators.stack import Stack, start


@pytest.fixture(scope="session", autouse=True)
def _stop_emulators() -> Iterator[None]:
    yield
    emulators.stop_all()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    fs, ps = emulators.firestore(), emulators.pubsub()
    # A secret the functions inherit from their environment and an isolated job must never see.
    os.environ["WFX_E2E_CANARY_SECRET"] = secrets.token_hex(12)
    try:
        st = start(project=PROJECT, state_dir=tmp_path_factory.mktemp("stack"), trigger_topics=(TRIGGER_TOPIC,),
                   firestore_host=fs.host_port, pubsub_host=ps.host_port,
                   extra_env={"WFX_FUNCTION_MODULES": "tests.e2e.fixtures", "WFX_LEASE_TTL_S": str(LEASE_TTL_S),
                              # the sweep job every second; runs the tests deliver by hand stay queued
                              "WFX_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S), "WFX_SWEEP_QUEUED_AFTER_S": "60"})
    finally:
        os.environ.pop("WFX_E2E_CANARY_SECRET", None)
    try:
        warm_up(st)
        yield st
    finally:
        st.stop()


def warm_up(st: Stack) -> None:
    """First requests build each function's services (imports, clients): keep that out of timings."""
    rpc(st.mcp_url, "tools/list")
    post(st.urls["worker"], b"{}", {"X-Wfx-Worker-Secret": st.env["WFX_WORKER_SECRET"]})
    post(st.urls["events"], push_body("warm-up", "warm-up", {}, {}), {"Content-Type": "application/json"})


@pytest.fixture(scope="session")
def client(stack: Stack) -> Iterator[Services]:
    """This process's view of the stack's store and registry (no queue: it never runs anything)."""
    settings = Settings(store="firestore", gcp_project=PROJECT, events="local", queue="local",
                        events_topic=stack.env["WFX_EVENTS_TOPIC"], function_modules=("tests.e2e.fixtures",))
    svc = build(settings, with_queue=False)
    yield svc
    svc.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "steps.log"
