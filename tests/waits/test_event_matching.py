"""A Pub/Sub message with an ``event`` and no ``execution_id`` (what another system publishes)
resumes the runs waiting for that event whose ``match`` its payload holds: only those, each once,
and a redelivered message never resumes a wait that began after it was published."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.events import handle_cloud_event
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

WAITS = """
workflows:
  ship:
    steps:
      - id: paid
        wait_for: {event: payment, match: {order: "${input.order}"}, timeout: 600}
        output: {to: user}
  open:
    steps:
      - id: paid
        wait_for: {event: payment, timeout: 600}
        output: {to: user}
"""


@pytest.fixture(params=["memory", "sqlite"])
def wfx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home")})
    ex = Executor.local(settings=replace(s, store=request.param, event_match_max=2))
    ex.register(WAITS)
    yield ex
    ex.close()


def publish(wfx: Executor, payload: Any, *, message_id: str, at: float, event: str = "payment") -> Any:
    """What functions-framework hands the events function for one message on the events topic."""
    stamp = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
    envelope = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(),
                            "attributes": {"event": event}, "messageId": message_id, "publishTime": stamp}}
    return handle_cloud_event(wfx.services, {}, envelope)


def wait(wfx: Executor, workflow: str, order: int) -> str:
    ex = wfx.run(workflow, {"order": order})
    assert ex.status == ExecutionStatus.WAITING
    return ex.id


def result(wfx: Executor, execution_id: str) -> Any:
    return eventually(lambda: (cur := wfx.status(execution_id)).finished and cur, timeout=5.0,
                      what="the run to end").result


def test_an_unaddressed_event_resumes_only_the_runs_whose_match_it_holds(wfx: Executor) -> None:
    one, two, other = wait(wfx, "ship", 1), wait(wfx, "ship", 2), wait(wfx, "open", 1)
    now = wfx.engine.clock.now()
    handled = publish(wfx, {"order": 1, "amount": 5}, message_id="m1", at=now)
    assert handled.matched == (one,)
    assert result(wfx, one) == {"order": 1, "amount": 5}
    assert wfx.status(two).status == ExecutionStatus.WAITING  # another order
    assert wfx.status(other).status == ExecutionStatus.WAITING  # no match: only its own id resumes it
    assert publish(wfx, {"order": 1}, message_id="m2", at=now, event="refund").matched == ()


def test_a_redelivered_message_resumes_nothing_twice_and_no_later_wait(wfx: Executor) -> None:
    first = wait(wfx, "ship", 3)
    published = wfx.engine.clock.now()
    assert publish(wfx, {"order": 3}, message_id="m3", at=published).matched == (first,)
    result(wfx, first)
    later = wait(wfx, "ship", 3)  # began after the message was published
    assert publish(wfx, {"order": 3}, message_id="m3", at=published).matched == ()  # the redelivery
    assert wfx.status(later).status == ExecutionStatus.WAITING


def test_one_message_resumes_at_most_the_configured_number_of_runs_oldest_first(wfx: Executor) -> None:
    ids = [wait(wfx, "ship", 4) for _ in range(3)]
    handled = publish(wfx, {"order": 4}, message_id="m4", at=wfx.engine.clock.now())
    assert handled.matched == tuple(ids[:2])
    assert wfx.status(ids[2]).status == ExecutionStatus.WAITING
