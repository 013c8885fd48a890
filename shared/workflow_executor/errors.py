"""One error hierarchy for the whole library.

Every error carries a stable ``code`` (asserted by tests and mapped once per edge: JSON-RPC /
``isError`` in the MCP function, 2xx vs 5xx in the worker, exit code in the job and CLI), a
``retryable`` flag (the retry contract), a message that says what to do next, and structured
``details``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class WfxError(Exception):
    """Base class. ``code`` is stable; ``message`` is for people; ``fix`` says what to do."""

    code = "internal"
    retryable = False

    def __init__(self, message: str, *, fix: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fix:
            out["fix"] = self.fix
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message

    def about(self, execution_id: str, status: str) -> WfxError:
        """Name the execution this error ended a request for, with its status as last known
        (``details``: ``execution_id``, ``status``): an answer given after the run was created
        must let the caller poll it or resubmit for the same run. Returns ``self``."""
        self.details["execution_id"] = execution_id
        self.details["status"] = status
        if self.retryable:
            self.fix = (f"poll check_execution_status(execution_id='{execution_id}'), or resubmit with the same "
                        "idempotency_key to get the same run")
        return self


@dataclass(frozen=True)
class Issue:
    """One validation finding: where (file + dotted path), what, and how to fix it."""

    path: str
    message: str
    file: str | None = None
    severity: str = "error"
    fix: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        tail = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}{self.path}: {self.message}{tail}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "message": self.message, "severity": self.severity}
        if self.file:
            out["file"] = self.file
        if self.fix:
            out["fix"] = self.fix
        return out


class SpecError(WfxError):
    """A workflow document is malformed or invalid; ``issues`` lists every problem found."""

    code = "invalid_workflow"

    def __init__(self, issues: list[Issue], *, warnings: list[Issue] | None = None, partial: Any = None) -> None:
        self.issues = issues
        self.warnings = warnings or []
        # the document without the parts that were wrong in shape (spec.partial checks the rest)
        self.partial = partial
        head = str(issues[0]) if issues else "invalid workflow"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(head + more, errors=[i.to_dict() for i in issues])


class LimitExceeded(WfxError):
    code = "limit_exceeded"


class InvalidArgument(WfxError):
    code = "invalid_argument"


class NotFound(WfxError):
    code = "not_found"


class Conflict(WfxError):
    """A compare-and-set lost, or the state does not allow the operation."""

    code = "conflict"


class PortInUse(Conflict):
    """``wfx serve``: another program listens on the port asked for."""

    code = "port_in_use"


class LeaseHeld(Conflict):
    """Another live runner holds the execution's lease (worker answers 409)."""

    code = "lease_held"
    retryable = True


class LeaseLost(Conflict):
    """This runner's lease was taken over; it must stop without writing more."""

    code = "lease_lost"


class NotWaiting(Conflict):
    """An event (or a timer) for a run that is not waiting for it: finished, running, waiting
    for another event, or a stale timer."""

    code = "not_waiting"


class AlreadyDelivered(Conflict):
    """The event this wait waited for was delivered (or it timed out) already: never twice."""

    code = "already_delivered"


class Unauthorized(WfxError):
    code = "unauthorized"


class Forbidden(WfxError):
    code = "forbidden"


class FunctionNotAllowed(WfxError):
    code = "function_not_allowed"


class NoModelConfigured(WfxError):
    code = "no_model_configured"


class StepFailed(WfxError):
    """A step raised; ``retryable`` follows the cause."""

    code = "step_failed"


class StepTimeout(WfxError):
    """Not retried: the timed-out attempt cannot be stopped (a thread), so a retry would run
    beside it. Isolated mode is the way to bound untrusted long work."""

    code = "step_timeout"


class ExecutionTimeout(WfxError):
    code = "timeout"


class Cancelled(WfxError):
    code = "cancelled"


class Transient(WfxError):
    """A backend hiccup worth retrying (worker answers 5xx, the queue redelivers)."""

    code = "transient"
    retryable = True


class StoreUnavailable(Transient):
    """The execution store could not be reached (an outage, not a fault of the step): the run's
    pass ends without failing any step and the delivery is retried."""


class StoreCorrupt(WfxError):
    """The store's file is damaged (SQLite: "database disk image is malformed"): not retried, the
    operator recovers the file; ``fix`` says how. Nothing more is written to it."""

    code = "store_corrupt"


class ToolFailed(WfxError):
    """A tool call failed: the remote answered with an error, or not in time, or too much."""

    code = "tool_failed"


class PathNotAllowed(Forbidden):
    """A tool path leaves the operator's roots (``..``, absolute, a symlink out) or its bucket list."""

    code = "path_not_allowed"


class HostNotAllowed(Forbidden):
    """An ``http_request`` host (or redirect target) is not on the operator's allow-list."""

    code = "host_not_allowed"


class TopicNotAllowed(Forbidden):
    """A message queue tool named a topic the operator did not allow (WFX_MQ_TOPICS)."""

    code = "topic_not_allowed"


class SubscriptionNotAllowed(Forbidden):
    """A consumer named a subscription the operator did not allow (WFX_MQ_SUBSCRIPTIONS)."""

    code = "subscription_not_allowed"


class MessageTooLarge(LimitExceeded):
    code = "message_too_large"


class McpUrlNotAllowed(Forbidden):
    """An ``mcpremote`` tool's ``mcp_url`` is not on the operator's allow-list."""

    code = "mcp_url_not_allowed"


class TableNotAllowed(Forbidden):
    """A ``bigquery_vector_search`` dataset or table is not on the operator's allow-list."""

    code = "table_not_allowed"
class DatabaseNotAllowed(Forbidden):
    """An ``sql_database`` tool names a database the operator has not configured, or a DSN/path."""

    code = "database_not_allowed"


class QueryNotAllowed(Forbidden):
    """A SQL statement the database does not accept here: a write on a read-only database, DDL,
    ATTACH, PRAGMA, several statements in one."""

    code = "query_not_allowed"


class RepositoryNotAllowed(Forbidden):
    """A ``github`` repository is not on the operator's allow-list (WFX_GITHUB_REPOS)."""

    code = "repository_not_allowed"


class TerminalStepError(WfxError):
    """Raised by a step function to say: do not retry this."""

    code = "step_failed"
    retryable = False


# --- LLM agents (agents/): each says whether a retry can help -----------------------------


class ModelAuthFailed(WfxError):
    """The endpoint refused the operator's key (401/403): retrying cannot help."""

    code = "model_auth_failed"


class ModelNotFound(WfxError):
    """The endpoint does not serve the model (404)."""

    code = "model_not_found"


class ModelRateLimited(WfxError):
    code = "model_rate_limited"
    retryable = True


class ModelUnavailable(WfxError):
    """5xx, a timeout or a broken connection: worth retrying later."""

    code = "model_unavailable"
    retryable = True


class ContextTooLong(WfxError):
    code = "context_too_long"


class ContentFiltered(WfxError):
    code = "content_filtered"


class ModelRequestRejected(WfxError):
    """Any other 4xx from the endpoint: the request itself is wrong."""

    code = "model_request_rejected"


class InvalidModelOutput(WfxError):
    """The reply is not the JSON the step asked for, even after one repair turn."""

    code = "invalid_model_output"


class BudgetExceeded(WfxError):
    """A token or cost budget (workflow, request, API key, or a parent's) is spent."""

    code = "budget_exceeded"
