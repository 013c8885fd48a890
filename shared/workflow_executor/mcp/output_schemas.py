"""The ``outputSchema`` of every MCP tool: the JSON Schema its ``structuredContent`` follows when
the call succeeds (MCP 2025-11-25: a tool with an output schema MUST return conforming structured
results; an ``isError`` result carries ``{code, message, field, fix}`` instead and is not held
to it). Fields a result may add later are allowed; the ones listed are always there."""

from __future__ import annotations

from typing import Any

_TEXT: dict[str, Any] = {"type": "string"}
_TEXT_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
_STATUS: dict[str, Any] = {"type": "string", "enum": ["queued", "running", "waiting", "completed", "failed",
                                                      "timeout", "cancelled"]}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}


_RUN = {"execution_id": _TEXT, "status": _STATUS, "workflow_name": _TEXT, "execution_mode": _TEXT,
        "start_time": _TEXT_OR_NULL, "end_time": _TEXT_OR_NULL, "elapsed_time": {"type": "number"},
        "progress": _TEXT, "steps": _LIST, "usage": {"type": "object"}, "message": _TEXT}
_RUN_MAY = {"result": {}, "error": {"type": "object"}, "rerun_of": _TEXT, "waiting": {"type": "object"}}
_GENERATION = {"workflow_name": _TEXT, "workflow_config": {"type": "object"}, "generator": _TEXT,
               "validation_status": _TEXT, "version": {"type": ["integer", "null"]},
               "generation": {"type": "object"}, "errors": _LIST}
EXECUTION = _object(_RUN, _RUN_MAY)

OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "execute_workflow": EXECUTION,
    "generate_workflow": _object({**_GENERATION, "warnings": _LIST, "message": _TEXT}),
    "execute_generated_workflow": _object({**_RUN, **_GENERATION}, _RUN_MAY),
    "check_execution_status": EXECUTION,
    "cancel_execution": _object({"execution_id": _TEXT, "status": _STATUS, "cancelled": {"type": "boolean"},
                                 "message": _TEXT}),
    "list_workflows": _object({"available_workflows": _LIST, "total_count": {"type": "integer"},
                               "skipped": _LIST, "message": _TEXT}),
    "validate_workflow": _object({"valid": {"type": "boolean"}, "errors": _LIST, "warnings": _LIST,
                                  "workflows": {"type": "array", "items": _TEXT}, "findings": _LIST}),
    "list_executions": _object({"executions": _LIST, "count": {"type": "integer"}, "next_cursor": _TEXT_OR_NULL,
                                "message": _TEXT}),
    "get_workflow": _object({"workflow_name": _TEXT, "version": {"type": "integer"}, "hash": _TEXT,
                             "description": _TEXT_OR_NULL, "source": _TEXT_OR_NULL, "steps": _LIST,
                             "document": {"type": "object"}}),
    "rerun_execution": _object({**_RUN, "rerun_of": _TEXT}, _RUN_MAY),
    "send_event": _object({"execution_id": _TEXT, "event": _TEXT, "delivered": {"type": "boolean"},
                           "status": _STATUS, "message": _TEXT}),
    "register_workflow": _object({"workflows": _LIST, "warnings": _LIST, "registered_by": _TEXT_OR_NULL}),
}
