"""The normalised workflow language: one pydantic model for every accepted YAML form.

The loader (``spec.loader``) turns LangSwarm's classic, flat and list forms into these
models; the validator (``spec.validate``) checks references across them. Models are frozen:
the engine shares one instance between threads.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

# Hard ceilings the operator can lower (settings) but a document cannot raise.
MAX_DOCUMENT_BYTES = 1_000_000
MAX_STEPS = 500
MAX_LOOP_ITERATIONS = 10_000
MAX_FAN_OUT = 64
DEFAULT_LOOP_MAX = 100


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RetryPolicy(_Frozen):
    """``max_attempts`` counts every attempt (1 = no retry). Backoff doubles from ``backoff_s``."""

    max_attempts: int = Field(1, ge=1, le=100)
    backoff_s: float = Field(1.0, ge=0)
    max_backoff_s: float = Field(30.0, ge=0)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2 = the first retry)."""
        return min(self.backoff_s * float(2 ** max(attempt - 2, 0)), self.max_backoff_s)


class IfCondition(_Frozen):
    kind: Literal["if"] = "if"
    expr: str
    then: list[str]
    otherwise: list[str] = Field(default_factory=list)


class SwitchCondition(_Frozen):
    kind: Literal["switch"] = "switch"
    expr: str
    cases: dict[str, list[str]]
    default: list[str] = Field(default_factory=list)


class ExistsCondition(_Frozen):
    kind: Literal["exists"] = "exists"
    ref: str
    then: list[str]
    otherwise: list[str] = Field(default_factory=list)


Condition = IfCondition | SwitchCondition | ExistsCondition

ACTIONS = ("agent", "function", "tool", "invoke_workflow", "wait_for", "sleep")
USER = "user"  # the routing target that means "this is the result"


class Output(_Frozen):
    """Where a finished step hands over. ``to`` names steps and/or ``user``; ``condition``
    picks one branch (its targets) at run time. Both empty: the branch ends here."""

    to: list[str] = Field(default_factory=list)
    condition: Condition | None = None

    def all_targets(self) -> list[str]:
        out = list(self.to)
        c = self.condition
        if isinstance(c, IfCondition | ExistsCondition):
            out += c.then + c.otherwise
        elif isinstance(c, SwitchCondition):
            for targets in c.cases.values():
                out += targets
            out += c.default
        return out


class Loop(_Frozen):
    """Repeat the step's action (or ``body``, a chain of inline steps) for each item of
    ``for_each``, or until ``until`` holds; never more than ``max`` times."""

    for_each: Any = None
    until: str | None = None
    var: str = "item"
    max: int = Field(DEFAULT_LOOP_MAX, ge=1, le=MAX_LOOP_ITERATIONS)
    body: tuple[Step, ...] = ()


class WaitFor(_Frozen):
    """A durable wait: the run parks until ``event`` is delivered for it (its payload fields equal
    to ``match``'s rendered values) or ``timeout`` seconds pass. ``payload_schema``: a JSON
    Schema the payload must satisfy (the web view renders a form for it)."""

    event: str
    match: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(None, gt=0)
    payload_schema: dict[str, Any] | None = None


class Step(_Frozen):
    id: str
    # exactly one action
    agent: str | None = None
    input: Any = None
    function: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    tool: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    invoke_workflow: str | None = None
    wait_for: WaitFor | None = None
    sleep: float | None = Field(None, gt=0)  # a durable timer (seconds): the run parks meanwhile
    # control
    output: Output | None = None
    depends_on: tuple[str, ...] = ()
    fan_key: str | None = None
    is_fan_in: bool = False
    loop: Loop | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = Field(None, gt=0)
    condition: str | None = None
    description: str | None = None
    output_schema: dict[str, Any] | None = None  # an agent step's reply must be JSON of this schema

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A step with no wait dumps as before wait steps existed: stored documents keep their
        # hashes, and a runner of an earlier version still reads them.
        data: dict[str, Any] = handler(self)
        for key in ("wait_for", "sleep"):
            if data.get(key, 0) is None:
                del data[key]
        return data

    @property
    def action(self) -> str | None:
        for kind in ACTIONS:
            if getattr(self, kind) is not None:
                return kind
        return None


class Agent(_Frozen):
    """An LLM agent reached through an OpenAI-compatible endpoint the operator configured.

    ``provider`` names one of the operator's endpoints; a document can never set a URL or a key
    (``spec.agent_checks`` refuses ``base_url`` / ``api_key_env`` / ``api_key``). ``timeout`` and
    ``retries`` apply to each model call; ``max_tool_turns`` bounds the tool loop.
    """

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    id: str
    agent_type: str = "openai"
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    timeout: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0, le=10)
    tools: tuple[str, ...] = ()
    # "text" | "json" | "json_object" | a JSON Schema | {"type": "json_schema", "json_schema": {...}}
    response_format: str | dict[str, Any] | None = None
    response_mode: str | None = None  # LangSwarm's; accepted, no effect here
    max_tool_turns: int | None = Field(None, ge=0, le=100)


class Tool(_Frozen):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    id: str
    type: str
    description: str | None = None
    function: str | None = None  # for type "function": the allowed callable it wraps


class Workflow(_Frozen):
    id: str
    steps: tuple[Step, ...]
    description: str | None = None
    timeout: float | None = Field(None, gt=0)
    # LangSwarm's named inputs (``inputs: [user_input, user_query]``): ``${user_query}`` reads them
    inputs: tuple[str, ...] = ()
    # the LLM budget of each run (tokens and USD), children included; checked before each model call
    max_tokens: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, gt=0)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


class Trigger(_Frozen):
    """Start ``workflow`` for every message on ``topic`` whose attributes/data match ``filter``."""

    topic: str
    workflow: str | None = None
    filter: dict[str, Any] = Field(default_factory=dict)
    input: Any = None
    # at most this many unfinished runs started by this trigger (None: no limit); past it, the
    # overlap policy (overlap.py) skips the message or cancels the oldest run
    max_concurrent: int | None = Field(None, ge=1, le=10_000)
    overlap: Literal["skip", "queue", "cancel_older", "allow_all"] = "skip"


class Schedule(_Frozen):
    """Start ``workflow`` (default: the document's first) with ``input`` on ``cron`` in
    ``time_zone``: run by ``wfx serve``; in the cloud by Cloud Scheduler (infra ``schedules``)."""

    cron: str
    time_zone: str = "UTC"
    workflow: str | None = None
    input: Any = None
    # as Temporal schedules: one run at a time by default; a firing that finds it running is
    # skipped, queued (one waits), or cancels the older run (overlap.py)
    max_concurrent: int = Field(1, ge=1, le=1000)
    overlap: Literal["skip", "queue", "cancel_older", "allow_all"] = "skip"


class WorkflowDocument(_Frozen):
    version: str | None = None
    project_name: str | None = None
    description: str | None = None
    agents: dict[str, Agent] = Field(default_factory=dict)
    tools: dict[str, Tool] = Field(default_factory=dict)
    workflows: dict[str, Workflow]
    triggers: tuple[Trigger, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    settings: dict[str, Any] = Field(default_factory=dict)

    def workflow(self, name: str | None = None) -> Workflow:
        """The named workflow; without a name (or a name that is the document's), the first."""
        if name and name in self.workflows:
            return self.workflows[name]
        return next(iter(self.workflows.values()))


Loop.model_rebuild()
Step.model_rebuild()
