"""``tasklist`` (LangSwarm: ``mcptasklist``): a caller's tasks (create, list, get, update,
complete, delete) kept in the execution store's backend (SQLite, memory or Firestore). Tasks
belong to the run's principal: one caller never sees or changes another's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from ...errors import LimitExceeded, NotFound
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv
from .scoped import owner_of, records_of

KIND_TASK = "task"
_FIELDS = ("description", "completed", "priority", "notes")


class CreateArgs(ToolArgs):
    description: str = Field(..., min_length=1, max_length=2000, description="what is to be done")
    priority: int = Field(1, ge=1, le=5, description="1 (highest) to 5 (lowest)")
    notes: str = Field("", max_length=10_000, description="optional notes")


class TaskIdArgs(ToolArgs):
    task_id: str = Field(..., min_length=1, max_length=100, description="an id create_task returned (task-N)")


class UpdateArgs(TaskIdArgs):
    description: str | None = Field(None, min_length=1, max_length=2000)
    completed: bool | None = None
    priority: int | None = Field(None, ge=1, le=5)
    notes: str | None = Field(None, max_length=10_000)


class CompleteArgs(TaskIdArgs):
    completion_notes: str | None = Field(None, max_length=10_000, description="added to the task's notes")


class ListArgs(ToolArgs):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _number(task_id: str) -> int:
    head, _, n = task_id.partition("-")
    return int(n) if head == "task" and n.isdigit() else 0


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    limit = env.settings.tasklist_max_tasks

    def stored(ctx: ToolCall, task_id: str) -> dict[str, Any]:
        found = records_of(env, tool.id).get(owner_of(ctx), KIND_TASK, task_id)
        if found is None:
            raise NotFound(f"task '{task_id[:100]}' does not exist", fix="use a task_id from list_tasks")
        return found

    def save(ctx: ToolCall, task: dict[str, Any], verb: str) -> dict[str, Any]:
        task["updated_at"] = _now()
        records_of(env, tool.id).put(owner_of(ctx), KIND_TASK, task["task_id"], task)
        return {**task, "message": f"Task '{task['task_id']}' {verb} successfully"}

    def create_task(a: CreateArgs, ctx: ToolCall) -> Any:
        records, owner = records_of(env, tool.id), owner_of(ctx)
        have = records.list(owner, KIND_TASK, limit + 1)
        if len(have) >= limit:
            raise LimitExceeded(f"this caller already keeps {len(have)} tasks, the limit",
                                fix="delete finished tasks; the operator sets WFX_TASKLIST_MAX_TASKS")
        n = max((_number(t["task_id"]) for t in have), default=0)
        now = _now()
        for _ in range(50):  # another run of the same caller may take the number first
            n += 1
            task_id = f"task-{n}"
            task: dict[str, Any] = {"task_id": task_id, "description": a.description, "completed": False,
                    "priority": a.priority, "notes": a.notes, "created_at": now, "updated_at": now}
            if records.insert(owner, KIND_TASK, task_id, task):
                return {**task, "message": f"Task '{task_id}' created successfully"}
        raise LimitExceeded("too many tasks are being created at once", fix="try again")

    def update_task(a: UpdateArgs, ctx: ToolCall) -> Any:
        task = stored(ctx, a.task_id)
        task.update({k: getattr(a, k) for k in _FIELDS if getattr(a, k) is not None})
        return save(ctx, task, "updated")

    def complete_task(a: CompleteArgs, ctx: ToolCall) -> Any:
        task = stored(ctx, a.task_id)
        task["completed"] = True
        if a.completion_notes:
            task["notes"] = f"{task['notes']}\n{a.completion_notes}".strip()
        return save(ctx, task, "completed")

    def delete_task(a: TaskIdArgs, ctx: ToolCall) -> Any:
        if not records_of(env, tool.id).delete(owner_of(ctx), KIND_TASK, a.task_id):
            raise NotFound(f"task '{a.task_id[:100]}' does not exist", fix="use a task_id from list_tasks")
        return {"task_id": a.task_id, "success": True, "message": f"Task '{a.task_id}' deleted successfully"}

    def list_tasks(a: ListArgs, ctx: ToolCall) -> Any:
        tasks = records_of(env, tool.id).list(owner_of(ctx), KIND_TASK, limit)
        tasks.sort(key=lambda t: (t["priority"], _number(t["task_id"])))
        return {"tasks": tasks, "count": len(tasks), "message": f"Found {len(tasks)} task(s)"}

    def get_task(a: TaskIdArgs, ctx: ToolCall) -> Any:
        return {**stored(ctx, a.task_id), "success": True,
                "message": f"Task '{a.task_id}' retrieved successfully"}

    return [
        Operation("create_task", "Create a task with a description, a priority (1 highest .. 5) and notes.",
                  CreateArgs, create_task),
        Operation("list_tasks", "List your tasks, by priority.", ListArgs, list_tasks),
        Operation("get_task", "One task by its task_id.", TaskIdArgs, get_task),
        Operation("update_task", "Change a task's description, completed flag, priority or notes.",
                  UpdateArgs, update_task),
        Operation("complete_task", "Mark a task done, optionally adding completion notes.", CompleteArgs,
                  complete_task),
        Operation("delete_task", "Delete a task by its task_id.", TaskIdArgs, delete_task),
    ]


KIND = OperationsKind("tasklist", "the caller's task list (create, list, get, update, complete, delete), kept "
                      "in the execution store", _operations, aliases=("mcptasklist", "tasks"))
