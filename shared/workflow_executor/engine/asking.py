"""An agent asks a person (the ``ask_human`` tool, or a ``tool: ask_human`` step): the step parks
its run mid-step as a wait of kind ``ask`` (event ``answer``), and the pass that resumes it replays
the step's journal (no model call repeated) up to the ask, whose tool result is now the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument, WfxError
from ..models import StepRecord, StepStatus, WaitState
from ..spec.model import Step

if TYPE_CHECKING:
    from .run import Run

ASK_EVENT = "answer"  # the event that answers an ask: send_event(id, "answer", payload)


class Asking(BaseException):
    """The question of an ask with no answer yet. A BaseException on purpose: no tool wrapper,
    retry or step handler may turn it into a failure; the step's attempt parks its run."""

    def __init__(self, step_id: str, question: str, choices: list[str] | None,
                 timeout_s: float | None = None) -> None:
        super().__init__(question)
        self.step_id = step_id
        self.question = question
        self.choices = choices
        self.timeout_s = timeout_s


class AskTimedOut(WfxError):
    """No answer came within the ask's timeout: to an agent a tool error it can act on (go on
    without the answer), to a ``tool: ask_human`` step a failure (route or retry it)."""

    code = "timeout"


def answer_schema(choices: list[str] | None) -> dict[str, Any]:
    """What an answer may be: the text itself, or ``{"answer": text}`` (a form's shape); one of
    ``choices`` when the ask has them."""
    text: dict[str, Any] = {"type": "string", "enum": list(choices)} if choices else {"type": "string"}
    return {"anyOf": [text, {"type": "object", "properties": {"answer": text}, "required": ["answer"]}]}


def answer_text(payload: Any) -> Any:
    """The answer in a delivered payload: its ``answer`` field, else the payload itself."""
    if isinstance(payload, dict) and "answer" in payload:
        return payload["answer"]
    return payload


def ask(run: Run, step_id: str, question: str, choices: list[str] | None, timeout_s: float | None = None) -> Any:
    """The answer to this ask when the run was resumed by it, else raise ``Asking`` (the run
    parks, for ``timeout_s`` at most when given). The first ask a resumed pass of ``step_id``
    makes is the one that parked it (the journal replays every earlier tool turn), so it takes
    the answer; any later one asks anew. Errors: InvalidArgument (fatal) in a child workflow or
    a loop body, where a run cannot park; AskTimedOut when the timeout passed with no answer."""
    sid = step_id
    top = run.index.get(sid)
    if run.ex.parent_id is not None or top is None or run.workflow.steps[top].loop is not None:
        where = "a child workflow" if run.ex.parent_id is not None else "a loop"
        raise InvalidArgument(f"step '{sid}' asks a person inside {where}, where a run cannot wait",
                              fix="ask in a step of the top-level workflow, outside loops", fatal=True)
    w = run.ex.wait
    with run.lock:
        if (w is not None and w.kind == "ask" and w.step == sid and w.resolved
                and sid not in run.answered):
            run.answered.add(sid)
            if w.timed_out:
                waited = (w.until_s or w.since_s) - w.since_s
                raise AskTimedOut(f"no answer to {question[:120]!r} came within {waited:g} s",
                                  fix="go on without the answer, or ask again")
            return answer_text(w.payload)
    raise Asking(sid, question, choices, timeout_s)


def asked(run: Run, step: Step, signal: Asking, started: float) -> StepRecord:
    """The step's attempt asked: hold the step (the run parks at it once nothing else runs) and
    return a record that is never checkpointed (status running; ``Run._complete`` skips it)."""
    with run.lock:
        run.asking[step.id] = signal
    return StepRecord(step_id=step.id, status=StepStatus.RUNNING, started_at_s=started)


def wait_state(run: Run, step_id: str, now: float, number: int) -> WaitState:
    """The wait of a run parked at ``step_id``'s ask, carrying the parked time of earlier asks."""
    signal = run.asking[step_id]
    return WaitState(step=step_id, kind="ask", event=ASK_EVENT, question=signal.question,
                     choices=signal.choices, payload_schema=answer_schema(signal.choices), since_s=now,
                     until_s=now + signal.timeout_s if signal.timeout_s else None,
                     number=number, asked_s=asked_before(run.ex.wait))


def asked_before(w: WaitState | None) -> float:
    """Seconds this run was parked at asks, up to and including wait ``w`` once it resolved."""
    if w is None:
        return 0.0
    own = (w.resolved_at_s or w.since_s) - w.since_s if w.kind == "ask" and w.resolved else 0.0
    return w.asked_s + own
