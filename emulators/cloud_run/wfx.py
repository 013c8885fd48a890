"""The workflow executor's isolated-mode job on the emulator, defined as infra/run_job.tf defines
it in the cloud (tests/infra compares the two): same entrypoint, retries, timeout, service
account, and an environment without the functions' secrets."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# functions/job/Dockerfile: ENTRYPOINT ["python", "main.py"] with functions/job/main.py as main.py.
ENTRYPOINT = ROOT / "functions" / "job" / "main.py"
JOB_ID = "wfx-isolated"  # infra: "${var.prefix}-isolated"
SERVICE_ACCOUNT_ID = "wfx-job"  # infra: "${var.prefix}-job", not the functions' account
MAX_RETRIES = 1  # infra: var.job.max_retries
TIMEOUT_S = 3600  # infra: var.job.timeout ("3600s")
# What the functions hold and the job must not: API keys, the worker's shared secret, and the
# settings that let a process start jobs (infra passes only base_env minus the API keys secret).
FUNCTION_ONLY = frozenset({"WFX_API_KEYS", "WFX_API_KEYS_SECRET", "WFX_WORKER_SECRET", "WFX_JOBS", "WFX_RUN_JOB",
                           "WFX_RUN_EMULATOR_HOST"})
# Emulator endpoints the job needs locally (in the cloud the client libraries find the services).
EMULATOR_HOSTS = ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "WFX_TASKS_EMULATOR_HOST")


def job_env(function_env: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The job's environment from the functions' settings (``WFX_*`` and emulator hosts) and the
    operator's extra plain variables; never a function-only secret, nothing else of the host."""
    keep = {k: v for k, v in function_env.items()
            if (k.startswith("WFX_") or k in EMULATOR_HOSTS) and k not in FUNCTION_ONLY}
    keep.update({k: v for k, v in (extra or {}).items() if k not in FUNCTION_ONLY})
    keep["PYTHONPATH"] = str(ROOT)  # the image has the package installed; here it is the checkout
    return keep


def job_resource(project: str, env: Mapping[str, str], *, python: str = sys.executable,
                 max_retries: int = MAX_RETRIES, timeout_s: int = TIMEOUT_S) -> dict[str, Any]:
    """The Job resource (a dict the run_v2 client accepts) for CreateJob."""
    return {"template": {"task_count": 1, "parallelism": 1, "template": {
        "max_retries": max_retries, "timeout": {"seconds": timeout_s},
        "service_account": f"{SERVICE_ACCOUNT_ID}@{project}.iam.gserviceaccount.com",
        "containers": [{"name": "job", "image": "wfx-job", "command": [python, str(ENTRYPOINT)],
                        "env": [{"name": k, "value": v} for k, v in sorted(env.items())]}]}}}


def create_job(jobs_client: Any, parent: str, env: Mapping[str, str], **options: Any) -> str:
    """Create the job under ``parent`` (projects/P/locations/L) with ``job_resource``; returns its name."""
    project = parent.split("/")[1]
    job = jobs_client.create_job(parent=parent, job_id=JOB_ID, job=job_resource(project, env, **options))
    return str(job.result(timeout=10).name)
