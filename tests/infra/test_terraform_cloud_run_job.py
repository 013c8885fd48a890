"""infra/run_job.tf, the Cloud Run adapter and the emulated job (emulators/cloud_run/wfx.py) agree:
the same entrypoint, retries, timeout, service account and environment, so what the emulator
stack proves holds for the deployed job."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import hcl2
from workflow_executor import job as job_entrypoint
from workflow_executor.adapters import cloud_run

from emulators.cloud_run import wfx

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                    preserve_heredocs=False)


def _load(name: str) -> dict[str, Any]:
    with (INFRA / name).open() as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def _locals(name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in _load(name).get("locals", []):
        out.update(entry)
    return out


def _job() -> dict[str, Any]:
    resource = next(e for e in _load("run_job.tf")["resource"] if "google_cloud_run_v2_job" in e)
    return dict(resource["google_cloud_run_v2_job"]["isolated"])


def _job_variable_default(attribute: str) -> str:
    variable = next(e["job"] for e in _load("variables.tf")["variable"] if "job" in e)
    match = re.search(rf"\b{attribute} = optional\([a-z]+, \"?([^\")]*)\"?\)", variable["type"])
    assert match, f"var.job.{attribute} has no optional() default"
    return match.group(1)


def _prefix_default() -> str:
    return str(next(e["prefix"] for e in _load("variables.tf")["variable"] if "prefix" in e)["default"])


def test_retries_and_timeout_are_the_ones_the_emulated_job_uses() -> None:
    template = _job()["template"][0]
    task = template["template"][0]
    assert (template["task_count"], template["parallelism"]) == (1, 1)
    assert task["max_retries"] == "${var.job.max_retries}" and task["timeout"] == "${var.job.timeout}"
    assert int(_job_variable_default("max_retries")) == wfx.MAX_RETRIES
    assert _job_variable_default("timeout") == f"{wfx.TIMEOUT_S}s"
    resource = wfx.job_resource("p", {})["template"]
    assert (resource["task_count"], resource["parallelism"]) == (1, 1)
    assert resource["template"]["max_retries"] == wfx.MAX_RETRIES
    # the adapter's task timeout for an execution's timeout stays within Cloud Run's 7-day maximum
    assert cloud_run.task_timeout_s(10**9) == 7 * 24 * 3600 and cloud_run.task_timeout_s(None) is None


def test_the_job_runs_as_its_own_account_named_as_the_emulated_job_says() -> None:
    names = _locals("main.tf")["names"]
    prefix = _prefix_default()
    task = _job()["template"][0]["template"][0]
    assert task["service_account"] == "${google_service_account.job.email}"
    assert names["job_sa"].replace("${var.prefix}", prefix) == wfx.SERVICE_ACCOUNT_ID
    assert names["job"].replace("${var.prefix}", prefix) == wfx.JOB_ID
    account = wfx.job_resource("proj", {})["template"]["template"]["service_account"]
    assert account == f"{wfx.SERVICE_ACCOUNT_ID}@proj.iam.gserviceaccount.com"
    # the functions' account may run and cancel executions of the job (what the adapter does)
    iam = next(e for e in _load("iam.tf")["resource"] if "google_cloud_run_v2_job_iam_member" in e)
    grant = iam["google_cloud_run_v2_job_iam_member"]["runtime_developer"]
    assert grant["role"] == "roles/run.developer" and grant["member"] == "${local.runtime}"


def test_the_job_gets_the_functions_settings_without_their_secrets_or_the_right_to_start_jobs() -> None:
    container = _job()["template"][0]["template"][0]["containers"][0]
    plain = str(container["dynamic"][0]["env"]["for_each"])
    if plain == "${local.job_plain_env}":  # shared with the profiles' jobs (run_job_profiles.tf)
        plain = str(_locals("run_job_profiles.tf")["job_plain_env"])
    assert "local.base_env" in plain and 'k != "WFX_API_KEYS_SECRET"' in plain and "function_env" not in plain
    functions = _locals("functions.tf")
    base_keys = set(re.findall(r"\b(WFX_[A-Z_]+) =", str(functions["base_env"])))
    assert "WFX_API_KEYS_SECRET" in base_keys
    # infra drops exactly what the emulated job drops, and nothing the job needs
    in_job = {k for k in base_keys if k != "WFX_API_KEYS_SECRET"} | {"WFX_WORKER_URL"}
    emulated = wfx.job_env({k: "x" for k in base_keys | {"WFX_WORKER_URL"}})
    assert in_job == {k for k in emulated if k.startswith("WFX_")}
    # the settings that make a process start jobs are the functions' only
    job_only_for_functions = set(re.findall(r"\b(WFX_[A-Z_]+) =", str(functions["job_env"])))
    assert job_only_for_functions == {"WFX_JOBS", "WFX_RUN_JOB"} and job_only_for_functions <= wfx.FUNCTION_ONLY
    assert not job_only_for_functions & set(emulated)


def test_the_adapter_overrides_only_the_execution_id_which_the_entrypoint_reads() -> None:
    source = inspect.getsource(cloud_run.CloudRunJobRunner._start)  # start: on the run's profile
    assert re.findall(r'EnvVar\(name="([A-Z_]+)"', source) == ["WFX_EXECUTION_ID"]
    assert 'os.environ.get("WFX_EXECUTION_ID")' in inspect.getsource(job_entrypoint)
    assert "CLOUD_RUN_TASK_ATTEMPT" in inspect.getsource(job_entrypoint)  # a retry takes the lease over


def test_the_emulated_job_runs_the_entrypoint_the_image_runs() -> None:
    dockerfile = (REPO / "functions" / "job" / "Dockerfile").read_text()
    assert "COPY functions/job/main.py ./main.py" in dockerfile
    assert 'ENTRYPOINT ["python", "main.py"]' in dockerfile
    command = wfx.job_resource("p", {})["template"]["template"]["containers"][0]["command"]
    assert Path(command[-1]) == REPO / "functions" / "job" / "main.py" == wfx.ENTRYPOINT
