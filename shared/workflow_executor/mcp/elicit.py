"""Asking through the MCP client (2026-07-28 multi round-trip requests, SEP-2322): a sync run that
parks at an agent's ``ask_human`` answers its ``tools/call`` with ``resultType: input_required``
and an elicitation form, when the request declares the ``elicitation`` capability; the client's
retry (the same call with ``inputResponses`` and the echoed ``requestState``) delivers the answer
and runs the run on inside that request. The run is parked durably all the same: a client that
never retries leaves it waiting, and ``send_event`` answers it. Handshake-era (2025-11-25)
clients would need a server-to-client request on an open stream, which this stateless JSON
server does not hold: their runs park and show ``input_required`` as tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import access
from ..access import Caller
from ..engine.asking import ASK_EVENT
from ..errors import Conflict, InvalidArgument, NotFound, WfxError
from ..models import Execution, ExecutionMode, ExecutionStatus
from ..waiting import deliver
from .results import from_error
from .views import run_result

if TYPE_CHECKING:
    from .app import McpApp

KEY = "ask"  # the one input request's key
STATE_PREFIX = "wfx-ask:"  # requestState: wfx-ask:<execution id>:<wait number> (opaque to the client)


def can_elicit(capabilities: Mapping[str, Any]) -> bool:
    """True when the request's per-request capabilities allow a form elicitation (``{}`` means form)."""
    caps = capabilities.get("elicitation")
    return isinstance(caps, Mapping) and (not caps or "form" in caps)


def asks(ex: Execution | None) -> bool:
    """True for a sync run parked at an ask: the one case answered with ``input_required``."""
    return (ex is not None and ex.mode == ExecutionMode.SYNC and ex.status == ExecutionStatus.WAITING
            and ex.wait is not None and ex.wait.kind == "ask")


def input_requests(ex: Execution) -> dict[str, Any]:
    """The ``inputRequests`` of a run parked at an ask: one form with a text ``answer`` (one of
    the ask's choices when it has them)."""
    w = ex.wait
    assert w is not None
    answer: dict[str, Any] = {"type": "string", "title": "Answer"}
    if w.choices:
        answer["enum"] = list(w.choices)
    params = {"mode": "form", "message": w.question or "The workflow asks for an answer.",
              "requestedSchema": {"type": "object", "properties": {"answer": answer}, "required": ["answer"]}}
    return {KEY: {"method": "elicitation/create", "params": params}}


def input_required(ex: Execution) -> dict[str, Any]:
    """The ``InputRequiredResult`` of a sync run parked at an ask."""
    assert ex.wait is not None
    return {"resultType": "input_required", "inputRequests": input_requests(ex),
            "requestState": f"{STATE_PREFIX}{ex.id}:{ex.wait.number}"}


def is_retry(params: Mapping[str, Any]) -> bool:
    """True for a retry of an ask of ours (its ``requestState`` is one this module made)."""
    state = params.get("requestState")
    return isinstance(state, str) and state.startswith(STATE_PREFIX)


def answer(app: McpApp, caller: Caller, tool: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The retry: deliver the accepted answer (the one gate, access.check_send_event, decides
    who may), run the run on here, and answer with its result or its next ask. A declined or
    cancelled form leaves the run waiting (the answer says so). Never raises a WfxError."""
    try:
        ex, number = _answer(app, caller, params)
    except WfxError as exc:
        return from_error(tool, exc).wire()
    if asks(ex) and ex.wait is not None and ex.wait.number != number:  # it ran on and asks again
        return input_required(ex)
    return run_result(tool, ex, app.now()).wire()


def _answer(app: McpApp, caller: Caller, params: Mapping[str, Any]) -> tuple[Execution, int]:
    """(the run after the answer, the number of the wait answered)."""
    execution_id, number = _state(str(params["requestState"]))
    ex = app.services.store.get_head(execution_id)
    if ex is None:
        raise NotFound(f"no execution with id '{execution_id[:200]}'", fix="start the run again",
                       field="requestState")
    woken = accept(app, caller, ex, number, params.get("inputResponses"), inline=True)
    if woken is None:  # declined, answered another way (send_event), cancelled or ended
        return app.executor.status(ex.id), number
    try:
        return app.executor.engine.run(ex.id), number
    except Conflict:  # taken by another runner in between: report what is stored
        return app.executor.status(ex.id), number


def accept(app: McpApp, caller: Caller, ex: Execution, number: int | None, responses: Any, *,
           inline: bool) -> Execution | None:
    """Deliver the form's accepted answer to ``ex``'s ask (wait ``number``; None: the current
    one), after the one gate (access.check_send_event). Returns the woken run, or None when
    nothing was delivered (declined, dismissed, or no longer waiting at that ask). ``inline``:
    the caller runs it; else it goes to a runner. Errors: NotFound, Forbidden, InvalidArgument."""
    access.check_send_event(caller, ex)
    w = ex.wait
    if (ex.status != ExecutionStatus.WAITING or w is None or w.kind != "ask"
            or (number is not None and w.number != number)):
        return None
    reply = responses.get(KEY) if isinstance(responses, Mapping) else None
    content = reply.get("content") if isinstance(reply, Mapping) else None
    if not isinstance(reply, Mapping) or reply.get("action") != "accept" or not isinstance(content, Mapping):
        return None
    return deliver(app.services, ex.id, ASK_EVENT, {"answer": content.get("answer")}, by=caller.principal,
                   inline=inline)


def _state(state: str) -> tuple[str, int]:
    execution_id, _, number = state.removeprefix(STATE_PREFIX).rpartition(":")
    if not execution_id or not number.isdigit():
        raise InvalidArgument("requestState is not one this server made", fix="echo requestState unchanged",
                              field="requestState")
    return execution_id, int(number)
