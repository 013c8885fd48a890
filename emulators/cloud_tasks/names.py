"""Resource-name validation and generation for locations, queues and tasks."""

from __future__ import annotations

import re
import secrets

from .errors import invalid_argument

# Character classes follow the field documentation of google.cloud.tasks.v2.Queue/Task.
_PROJECT = r"[A-Za-z0-9\-:.]+"
_LOCATION = r"[A-Za-z0-9\-]+"
_QUEUE_ID = r"[A-Za-z0-9\-]{1,100}"
_TASK_ID = r"[A-Za-z0-9_\-]{1,500}"

_LOCATION_RE = re.compile(rf"projects/{_PROJECT}/locations/{_LOCATION}")
_QUEUE_RE = re.compile(rf"(?P<parent>projects/{_PROJECT}/locations/{_LOCATION})/queues/{_QUEUE_ID}")
_TASK_RE = re.compile(rf"(?P<parent>projects/{_PROJECT}/locations/{_LOCATION}/queues/{_QUEUE_ID})/tasks/{_TASK_ID}")


def require_location(name: str) -> str:
    if not _LOCATION_RE.fullmatch(name):
        raise invalid_argument(f"Invalid resource field value in the request: parent {name!r}")
    return name


def require_queue(name: str) -> str:
    if not _QUEUE_RE.fullmatch(name):
        raise invalid_argument(f"Invalid resource field value in the request: queue name {name!r}")
    return name


def require_task(name: str) -> str:
    if not _TASK_RE.fullmatch(name):
        raise invalid_argument(f"Invalid resource field value in the request: task name {name!r}")
    return name


def location_of_queue(queue_name: str) -> str:
    match = _QUEUE_RE.fullmatch(require_queue(queue_name))
    assert match is not None  # require_queue already validated the shape
    return match["parent"]


def queue_of_task(task_name: str) -> str:
    match = _TASK_RE.fullmatch(require_task(task_name))
    assert match is not None  # require_task already validated the shape
    return match["parent"]


def short_id(name: str) -> str:
    """Last path segment: what the X-CloudTasks-QueueName/TaskName headers carry."""
    return name.rsplit("/", 1)[-1]


def new_task_id() -> str:
    # The real service hands out long decimal ids; mimic that so callers never rely on a format.
    return str(secrets.randbelow(9 * 10**18) + 10**18)
