"""Input models of the MCP tools (the seed's parameter names and defaults). Each model's
JSON Schema is the tool's ``inputSchema``; a ``ValidationError`` becomes an ``isError`` result."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["sync", "async", "isolated"]
Complexity = Literal["simple", "medium", "complex"]
Status = Literal["queued", "running", "waiting", "completed", "failed", "timeout", "cancelled"]
NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
COMPLEXITY_HELP = ("simple: 1-2 agents, basic tools (filesystem, tasklist); medium: 3-4 agents, standard tools "
                   "(+ codebase_indexer, mcpremote, http_request); complex: 5-8 agents, the full tool suite "
                   "(+ message_queue_publisher). The shape (chain, parallel branches, conditions, loops) follows "
                   "the description")
ID = Field(min_length=1, max_length=200, description="Execution id returned when the run was started")


class ToolInput(BaseModel):
    """Base of the tool inputs: unknown arguments are rejected."""

    model_config = ConfigDict(extra="forbid")


TARGET_INSTANCE = Field(None, min_length=1, max_length=64, description=(
    "Execution profile an isolated run goes to (e.g. 'gpu', 'big', 'eu'; the server's operator defines them); "
    "given without execution_mode, the run is isolated"))


class ExecuteWorkflowInput(ToolInput):
    workflow_name: str | None = Field(
        None, min_length=1, max_length=300,
        description="Registered workflow, a workflow defined in a file under the server's workflow roots, "
                    "or that file's path relative to a root. With `workflow`, picks one of its workflows.")
    input_data: dict[str, Any] = Field(description="Input for the workflow (${input.<key>}, ${user_input})")
    execution_mode: Mode = Field("sync", description="sync: wait for the result; async: return an execution "
                                                     "id at once; isolated: run in a separate job")
    config_override: dict[str, Any] | None = Field(
        None, description="Deep-merged into the definition, e.g. {\"agents.writer.model\": \"gpt-4o-mini\"}")
    timeout: int = Field(300, ge=1, le=86_400, description="Seconds the whole execution may take")
    idempotency_key: str | None = Field(None, min_length=1, max_length=200,
                                        description="A retry with the same key returns the first execution")
    workflow: str | dict[str, Any] | None = Field(
        None, description="An inline workflow document (YAML text or object) instead of a registered name")
    max_tokens: int | None = Field(None, ge=1, description="LLM token budget of this run, children included "
                                                          "(the workflow's and the API key's apply too)")
    max_cost_usd: float | None = Field(None, gt=0, description="LLM cost budget of this run in USD, children "
                                                               "included")
    target_instance: str | None = TARGET_INSTANCE

    @model_validator(mode="after")
    def _name_or_workflow(self) -> ExecuteWorkflowInput:
        if self.workflow_name is None and self.workflow is None:
            raise ValueError("give workflow_name, or an inline workflow")
        return self


class GenerateWorkflowInput(ToolInput):
    workflow_description: str = Field(min_length=1, max_length=20_000,
                                      description="What the workflow should do, in plain language")
    workflow_name: str | None = Field(None, pattern=NAME, description="Name to store it under")
    agents_config: dict[str, Any] | None = Field(
        None, description="Agents by id ({\"writer\": {\"model\": \"...\", \"system_prompt\": \"...\"}}); each "
                          "takes the role it fits, the other roles get generated agents")
    tools_config: dict[str, Any] | None = Field(None, description="Tools by id, as in a workflow document; "
                                                                  "given to the agents whose role uses them")
    complexity: Complexity = Field("medium", description=COMPLEXITY_HELP)


class ExecuteGeneratedWorkflowInput(ToolInput):
    workflow_description: str = Field(min_length=1, max_length=20_000,
                                      description="What the workflow should do, in plain language")
    input_data: dict[str, Any] = Field(description="Input for the workflow")
    execution_mode: Mode = Field("sync", description="sync, async or isolated")
    complexity: Complexity = Field("medium", description=COMPLEXITY_HELP)
    timeout: int = Field(300, ge=1, le=86_400, description="Seconds the whole execution may take")
    target_instance: str | None = TARGET_INSTANCE


class CheckExecutionStatusInput(ToolInput):
    execution_id: str = ID


class CancelExecutionInput(ToolInput):
    execution_id: str = ID


class SendEventInput(ToolInput):
    execution_id: str = ID
    event: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$",
                       description="The event the run waits for (check_execution_status: waiting.event)")
    payload: Any = Field(None, description="The event's data: the wait step's output (checked like any input)")


class ListWorkflowsInput(ToolInput):
    config_path: str | None = Field(None, max_length=500,
                                    description="Directory relative to a workflow root (default: every root)")
    pattern: str = Field("*.yaml", min_length=1, max_length=200, description="Glob for workflow files")


class ValidateWorkflowInput(ToolInput):
    workflow: str | dict[str, Any] | None = Field(None, description="A workflow document (YAML text or object)")
    workflow_name: str | None = Field(None, min_length=1, max_length=300,
                                      description="A registered workflow (or one under the roots) to re-check")

    @model_validator(mode="after")
    def _one_source(self) -> ValidateWorkflowInput:
        if (self.workflow is None) == (self.workflow_name is None):
            raise ValueError("give exactly one of workflow or workflow_name")
        return self


class ListExecutionsInput(ToolInput):
    status: Status | None = Field(None, description="Only executions in this status")
    workflow_name: str | None = Field(None, min_length=1, max_length=300, description="Only this workflow")
    limit: int = Field(20, ge=1, le=200, description="Page size")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page")
    since: str | None = Field(None, max_length=40, description=(
        "Only executions created at or after this time: ISO 8601 (UTC unless it has an offset) or a span back "
        "from now such as 90m, 24h, 7d"))
    until: str | None = Field(None, max_length=40, description="Only executions created at or before this time "
                              "(same forms as since)")
    id_prefix: str | None = Field(None, min_length=4, max_length=200, description="Only ids starting with this "
                                  "(4 characters at least)")
    error_text: str | None = Field(None, min_length=1, max_length=200, description=(
        "Only runs whose error (code and message) holds each word of this, case-insensitive"))


class GetWorkflowInput(ToolInput):
    workflow_name: str = Field(min_length=1, max_length=300, description="A registered workflow")


class RerunExecutionInput(ToolInput):
    execution_id: str = ID
    from_step: str | None = Field(None, min_length=1, max_length=200,
                                  description="Rerun from this step (default: from the failed step)")


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema without pydantic's ``title`` noise."""
    schema: dict[str, Any] = _strip_titles(model.model_json_schema())
    return schema


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
            else:
                out[key] = _strip_titles(value)
        return out
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node
