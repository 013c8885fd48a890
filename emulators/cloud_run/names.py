"""Resource names of the emulated API: jobs, executions and long-running operations."""

from __future__ import annotations

import re
import secrets
import string

from emulators.cloud_tasks.errors import ApiError, invalid_argument

_ID = r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
_LOCATION = re.compile(r"^projects/([^/]+)/locations/([^/]+)$")
_JOB = re.compile(rf"^projects/([^/]+)/locations/([^/]+)/jobs/({_ID})$")
_EXECUTION = re.compile(rf"^(projects/[^/]+/locations/[^/]+/jobs/{_ID})/executions/([a-z0-9-]+)$")
_JOB_ID = re.compile(rf"^{_ID}$")


def parse_location(name: str) -> tuple[str, str]:
    m = _LOCATION.match(name)
    if not m:
        raise invalid_argument(f"parent '{name}' must look like projects/PROJECT/locations/LOCATION")
    return m.group(1), m.group(2)


def check_job_id(job_id: str) -> None:
    if not _JOB_ID.match(job_id):
        raise invalid_argument(
            f"job_id '{job_id}' must start with a letter, hold only lowercase letters, digits and "
            "hyphens, end with a letter or digit and be at most 63 characters long")


def parse_job(name: str) -> tuple[str, str, str]:
    """(project, location, job id) of a job name. Errors: INVALID_ARGUMENT."""
    m = _JOB.match(name)
    if not m:
        raise invalid_argument(f"name '{name}' must look like projects/PROJECT/locations/LOCATION/jobs/JOB")
    return m.group(1), m.group(2), m.group(3)


def parse_execution(name: str) -> tuple[str, str]:
    """(job name, execution id) of an execution name. Errors: INVALID_ARGUMENT."""
    m = _EXECUTION.match(name)
    if not m:
        raise invalid_argument(
            f"name '{name}' must look like projects/PROJECT/locations/LOCATION/jobs/JOB/executions/EXECUTION")
    return m.group(1), m.group(2)


def new_execution_id(job_id: str) -> str:
    """Like the real service: the job's id and five random characters."""
    return f"{job_id}-{''.join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))}"


def not_found(kind: str, name: str) -> ApiError:
    import grpc

    parts = name.split("/")
    project = parts[1] if len(parts) > 1 else "?"
    region = parts[3] if len(parts) > 3 else "?"
    return ApiError(grpc.StatusCode.NOT_FOUND,
                    f"Resource '{parts[-1]}' of kind '{kind}' in region '{region}' in project '{project}' "
                    "does not exist.")
