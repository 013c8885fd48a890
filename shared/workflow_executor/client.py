"""The CLI's MCP client for ``wfx --url URL`` (or WFX_URL + WFX_API_KEY): the methods the CLI
calls on a local ``Executor`` (check, register, run, start, status, cancel, rerun, executions,
workflows), done through the endpoint's tools. Answers come back as the same models the local
store gives (``Execution``, ``StoredWorkflow``), so every command prints the same output.

Workflow files are read here and sent as documents; the server never reads a path of ours.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from .errors import Forbidden, InvalidArgument, Issue, NotFound, SpecError, Transient, Unauthorized, WfxError
from .models import (
    ErrorInfo,
    Execution,
    ExecutionMode,
    ExecutionStatus,
    Page,
    Progress,
    StepRecord,
    StepStatus,
    StoredWorkflow,
    Usage,
    WaitState,
)
from .spec import load_path
from .spec.model import WorkflowDocument

_ERRORS: dict[str, type[WfxError]] = {"not_found": NotFound, "forbidden": Forbidden,
                                      "invalid_argument": InvalidArgument, "unauthorized": Unauthorized}
_OF = re.compile(r"(\d+) of (\d+)")


class RemoteError(WfxError):
    """A tool answered isError; ``code`` is the server's code."""

    def __init__(self, code: str, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.code = code


class Warnings:
    """The part of a validation report the CLI reads: the warnings."""

    def __init__(self, warnings: list[Issue]) -> None:
        self.warnings = warnings


class RemoteExecutor:
    """One MCP endpoint. ``api_key`` goes out as ``X-API-Key``. Errors: WfxError subclasses
    (Unauthorized for a refused key, Transient when the endpoint cannot be reached)."""

    remote = True

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 330.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout_s = timeout_s
        self._http = requests.Session()
        self._http.trust_env = False  # a proxy must not see the key of a loopback server
        self._http.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        if api_key:
            self._http.headers["X-API-Key"] = api_key
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._http.close()

    # -- transport -------------------------------------------------------------------------

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """``tools/call``; returns structuredContent. A failed run (isError with an
        execution_id) is returned too: it is an answer, not a transport failure."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": "tools/call",
                "params": {"name": tool, "arguments": {k: v for k, v in arguments.items() if v is not None}}}
        try:
            resp = self._http.post(self.url, json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise Transient(f"cannot reach {self.url} ({type(exc).__name__})",
                            fix="check --url / WFX_URL and that the server runs") from None
        if resp.status_code == 401:
            raise Unauthorized(f"{self.url} refused the request: no valid API key",
                               fix="set WFX_API_KEY (or --api-key) to a key of that server")
        if resp.status_code != 200:
            raise Transient(f"{self.url} answered HTTP {resp.status_code}", fix="check --url; try again later")
        try:
            data = resp.json()
        except ValueError:
            raise Transient(f"{self.url} did not answer JSON", fix="check that --url is an MCP endpoint") from None
        if not isinstance(data, dict) or "error" in data or not isinstance(data.get("result"), dict):
            err = data.get("error") if isinstance(data, dict) else None
            msg = err.get("message") if isinstance(err, dict) else "an unexpected answer"
            raise RemoteError("protocol", f"{self.url}: {msg}", fix="check that --url is a Workflow Executor")
        result: dict[str, Any] = data["result"]
        content = result.get("structuredContent")
        sc: dict[str, Any] = content if isinstance(content, dict) else {}
        if result.get("isError") and not sc.get("execution_id"):
            code = str(sc.get("code") or "tool_failed")
            message = str(sc.get("message") or _text(result) or f"{tool} failed")
            known = _ERRORS.get(code)
            raise known(message, fix=sc.get("fix")) if known else RemoteError(code, message, sc.get("fix"))
        return sc

    # -- workflows -------------------------------------------------------------------------

    def _document(self, path: Path) -> str | dict[str, Any]:
        """A file is sent as its text (error paths then match the file); a config folder as
        the one document it loads into."""
        if path.is_dir():
            return load_path(path).model_dump(mode="json")
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror}", fix="check the path") from None

    def check(self, source: Path, *, name: str | None = None) -> tuple[WorkflowDocument, Warnings]:
        """Load locally (for the names), validate on the server (its functions and limits).
        Errors: SpecError with the server's issues."""
        doc = load_path(source)
        out = self.call("validate_workflow", workflow=self._document(source))
        warnings = [Issue(w.get("path", ""), w.get("message", ""), severity="warning", fix=w.get("fix"))
                    for w in out.get("warnings", [])]
        if not out.get("valid"):
            raise SpecError([Issue(e.get("path", ""), e.get("message", ""), fix=e.get("fix"))
                             for e in out.get("errors", [])], warnings=warnings)
        return doc, Warnings(warnings)

    def validate(self, source: Path) -> dict[str, Any]:
        """The server's validate_workflow answer for a file or folder: valid, errors, warnings,
        and its rule-based findings."""
        return self.call("validate_workflow", workflow=self._document(source))

    def register(self, source: Path | str, *, name: str | None = None) -> list[StoredWorkflow]:
        """Store every workflow of a file or config folder by name (register_workflow, admin)."""
        out = self.call("register_workflow", workflow=self._document(Path(source)))
        return [_stored(w) for w in out.get("workflows", [])]

    def workflows(self) -> list[StoredWorkflow]:
        out = self.call("list_workflows")
        return [StoredWorkflow(name=w["name"], version=int(w.get("version") or 0), hash=str(w.get("hash") or ""),
                               document={}, source=w.get("file"), description=w.get("description") or None,
                               created_at_s=0.0)
                for w in out.get("available_workflows", [])]

    # -- executions ------------------------------------------------------------------------

    def run_file(self, path: Path, name: str, data: Any, mode: str, timeout: float | None) -> Execution:
        """Run workflow ``name`` of a local file on the server (sync waits; async returns queued)."""
        out = self.call("execute_workflow", workflow=self._document(path), workflow_name=name,
                        input_data=as_input(data), execution_mode=mode,
                        timeout=int(timeout) if timeout else None)
        return self.status(str(out["execution_id"]))

    def status(self, execution_id: str) -> Execution:
        return to_execution(self.call("check_execution_status", execution_id=execution_id))

    def cancel(self, execution_id: str) -> Execution:
        self.call("cancel_execution", execution_id=execution_id)
        return self.status(execution_id)

    def send_event(self, execution_id: str, event: str, payload: Any = None, *, by: str | None = None) -> Execution:
        """send_event through the endpoint (the endpoint's key decides who may; ``by`` is unused)."""
        self.call("send_event", execution_id=execution_id, event=event, payload=payload)
        return self.status(execution_id)

    def rerun(self, execution_id: str, from_step: str | None = None, *, mode: str | None = None) -> Execution:
        out = self.call("rerun_execution", execution_id=execution_id, from_step=from_step)
        return self.status(str(out["execution_id"]))

    def executions(self, *, status: str | None = None, workflow_name: str | None = None,
                   limit: int = 20, cursor: str | None = None, created_from_s: float | None = None,
                   created_to_s: float | None = None, id_prefix: str | None = None,
                   error_text: str | None = None) -> Page:
        """A page of the caller's executions, newest first, searched as ``Executor.executions`` is."""
        out = self.call("list_executions", status=status, workflow_name=workflow_name, limit=limit, cursor=cursor,
                        since=_iso(created_from_s), until=_iso(created_to_s), id_prefix=id_prefix,
                        error_text=error_text)
        return Page(items=[to_execution(e) for e in out.get("executions", [])], next_cursor=out.get("next_cursor"))


def _iso(at_s: float | None) -> str | None:
    return None if at_s is None else datetime.fromtimestamp(at_s, UTC).isoformat()


def as_input(data: Any) -> dict[str, Any]:
    """The tools take an object: a bare value is the user_input, as it is locally."""
    if data is None:
        return {}
    return data if isinstance(data, dict) else {"user_input": data}


def _text(result: dict[str, Any]) -> str:
    items = result.get("content")
    return " ".join(str(i.get("text")) for i in items if isinstance(i, dict)) if isinstance(items, list) else ""


def _seconds(iso: Any) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _stored(w: dict[str, Any]) -> StoredWorkflow:
    return StoredWorkflow(name=w["name"], version=int(w.get("version") or 0), hash=str(w.get("hash") or ""),
                          document={}, description=w.get("description"), created_at_s=0.0)


def _error(err: Any) -> ErrorInfo | None:
    """An error of a status view (its details, such as the fix, kept)."""
    if not isinstance(err, dict):
        return None
    details = err.get("details")
    return ErrorInfo(code=str(err.get("code", "error")), message=str(err.get("message", "")), step=err.get("step"),
                     details=details if isinstance(details, dict) else {})


def to_execution(view: dict[str, Any]) -> Execution:
    """An Execution from a check_execution_status record (or a list_executions item)."""
    steps: dict[str, StepRecord] = {}
    for seq, s in enumerate(view.get("steps") or []):
        err = s.get("error")
        steps[s["id"]] = StepRecord(
            step_id=s["id"], status=StepStatus(s["status"]), attempts=int(s.get("attempts") or 0), seq=seq,
            started_at_s=_seconds(s.get("started")), ended_at_s=_seconds(s.get("ended")),
            error=_error(err), input_preview=s.get("input_preview"))
    match = _OF.search(str(view.get("progress") or ""))
    total = int(match.group(2)) if match else len(steps)
    status = ExecutionStatus(view["status"])
    done = sum(1 for s in steps.values() if s.status == StepStatus.COMPLETED)
    if status.terminal and match:
        done = int(match.group(1))
    current = [k for k, s in steps.items() if s.status == StepStatus.RUNNING]
    err = view.get("error")
    error = _error(err) if isinstance(err, dict) else ErrorInfo(code=err, message=err) if isinstance(err, str) else None
    created = _seconds(view.get("start_time") or view.get("created")) or 0.0
    ended = _seconds(view.get("end_time") or view.get("ended"))
    return Execution(
        id=view["execution_id"], workflow_name=view.get("workflow_name") or "", workflow_hash="",
        mode=ExecutionMode(view.get("execution_mode") or "sync"), status=status,
        progress=Progress(completed=done, total=total, current=current), steps=steps,
        result=view.get("result"), error=error, rerun_of=view.get("rerun_of"),
        usage=Usage(**view["usage"]) if isinstance(view.get("usage"), dict) else Usage(),
        created_at_s=created, started_at_s=created, ended_at_s=ended, updated_at_s=ended or created,
        wait=_wait(view.get("waiting")))


def _wait(view: Any) -> WaitState | None:
    """The Execution.wait of a check_execution_status ``waiting`` record (what the CLI shows)."""
    if not isinstance(view, dict):
        return None
    return WaitState(step=str(view.get("step") or ""), kind="event" if view.get("for") == "event" else "sleep",
                     event=view.get("event"), since_s=_seconds(view.get("since")) or 0.0,
                     until_s=_seconds(view.get("until")), payload_schema=view.get("payload_schema"))
