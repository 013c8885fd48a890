"""The workflow executor's isolated-mode jobs on the emulator, defined as infra/run_job.tf and
infra/run_job_profiles.tf define them in the cloud (tests/infra compares them): same entrypoint,
retries, timeout, service account, an environment without the functions' secrets, and one job
per execution profile with the profile's CPU, memory, timeout and retries."""

from __future__ import annotations

import json
import os
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
    # the image has the package and the operator's code installed; here they are this checkout's
    # library (not whatever copy the interpreter has installed) and the operator's own PYTHONPATH
    # (given to the stack, or to `python -m emulators up --env`)
    given = (extra or {}).get("PYTHONPATH") or function_env.get("PYTHONPATH")
    path = [str(ROOT), str(ROOT / "shared"), *(given or "").split(os.pathsep)]
    keep["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(filter(None, path)))
    return keep


def profile_job_id(profile: str) -> str:
    """infra: "${var.prefix}-isolated-${each.key}"."""
    return f"{JOB_ID}-{profile}"


def with_jobs(profiles_json: str | None, parent: str) -> str | None:
    """WFX_PROFILES as the functions read it: each profile with the name of its job under ``parent``."""
    if not profiles_json:
        return profiles_json
    profiles = json.loads(profiles_json)
    return json.dumps({name: {**item, "job": f"{parent}/jobs/{profile_job_id(name)}"}
                       for name, item in profiles.items()})


def create_profile_jobs(jobs_client: Any, parent: str, env: Mapping[str, str], profiles: Mapping[str, Any]) -> None:
    """One job per execution profile (``workflow_executor.profiles.Profile``), as infra/ makes them."""
    for name, p in profiles.items():
        limits = {k: v for k, v in (("cpu", f"{p.cpu:g}" if p.cpu else None),
                                    ("memory", f"{p.memory_mb}Mi" if p.memory_mb else None)) if v}
        options: dict[str, Any] = {"limits": limits}
        if p.max_retries is not None:
            options["max_retries"] = p.max_retries
        if p.timeout_s:
            options["timeout_s"] = p.timeout_s
        create_job(jobs_client, parent, {**env, "WFX_PROFILE": name}, job_id=profile_job_id(name), **options)


def job_resource(project: str, env: Mapping[str, str], *, python: str = sys.executable,
                 max_retries: int = MAX_RETRIES, timeout_s: int = TIMEOUT_S,
                 limits: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Job resource (a dict the run_v2 client accepts) for CreateJob; ``limits``: the
    container's resources.limits (cpu, memory), which the emulator enforces."""
    return {"template": {"task_count": 1, "parallelism": 1, "template": {
        "max_retries": max_retries, "timeout": {"seconds": timeout_s},
        "service_account": f"{SERVICE_ACCOUNT_ID}@{project}.iam.gserviceaccount.com",
        "containers": [{"name": "job", "image": "wfx-job", "command": [python, str(ENTRYPOINT)],
                        "resources": {"limits": dict(limits or {})},
                        "env": [{"name": k, "value": v} for k, v in sorted(env.items())]}]}}}


def create_job(jobs_client: Any, parent: str, env: Mapping[str, str], job_id: str = JOB_ID, **options: Any) -> str:
    """Create the job under ``parent`` (projects/P/locations/L) with ``job_resource``; returns its name."""
    project = parent.split("/")[1]
    job = jobs_client.create_job(parent=parent, job_id=job_id, job=job_resource(project, env, **options))
    return str(job.result(timeout=10).name)
