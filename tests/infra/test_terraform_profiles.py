"""Structure of the execution profiles in infra/ (run_job_profiles.tf) and of the operator's
code in the functions' zip and the job image: Terraform cannot plan here, so what is checked is
what each attribute is made of, and that the settings it writes are what the library reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
from workflow_executor.profiles import parse_profiles

from emulators.cloud_run import wfx

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                    preserve_heredocs=False)


def _load(name: str) -> dict[str, Any]:
    return dict(hcl2.loads((INFRA / name).read_text(), serialization_options=OPTIONS))


def _locals(name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in _load(name).get("locals", []):
        out.update(entry)
    return out


def _resource(name: str, rtype: str, rname: str) -> dict[str, Any]:
    entry = next(e for e in _load(name)["resource"] if rtype in e and rname in e[rtype])
    return dict(entry[rtype][rname])


def _profiles_variable() -> dict[str, Any]:
    return dict(next(e["profiles"] for e in _load("variables.tf")["variable"] if "profiles" in e))


def test_each_profile_is_a_job_in_its_region_with_its_resources() -> None:
    job = _resource("run_job_profiles.tf", "google_cloud_run_v2_job", "profile")
    task = job["template"][0]["template"][0]
    container = task["containers"][0]
    assert _locals("run_job_profiles.tf")["profile_jobs"] == "${local.job_enabled ? var.profiles : {}}"
    assert job["for_each"] == "${local.profile_jobs}"
    assert job["location"] == "${coalesce(each.value.region, var.region)}"
    assert job["name"] == "${local.names.job}-${each.key}"
    limits = container["resources"][0]["limits"]
    assert "cpu = each.value.cpu" in limits and "memory = each.value.memory" in limits
    assert '"nvidia.com/gpu" = tostring(each.value.gpu_count)' in limits
    assert task["dynamic"][0]["node_selector"]["content"][0]["accelerator"] == "${node_selector.value}"
    assert "each.value.gpu_type" in task["dynamic"][0]["node_selector"]["for_each"]
    assert (task["timeout"], task["max_retries"]) == ("${each.value.timeout_seconds}s", "${each.value.max_retries}")
    assert task["service_account"] == "${google_service_account.job.email}"  # the job's account, not the functions'
    assert container["image"] == "${local.job_image}"
    assert "WFX_PROFILE = each.key" in container["dynamic"][0]["env"]["for_each"]
    assert "local.job_plain_env" in container["dynamic"][0]["env"]["for_each"]
    # the name the emulator stack gives a profile's job
    assert wfx.profile_job_id("gpu") == "wfx-isolated-gpu"


def test_the_functions_may_run_every_profiles_job_and_are_told_each_jobs_name() -> None:
    grant = _resource("run_job_profiles.tf", "google_cloud_run_v2_job_iam_member", "profile_runtime_developer")
    assert (grant["for_each"], grant["role"], grant["member"]) == (
        "${google_cloud_run_v2_job.profile}", "roles/run.developer", "${local.runtime}")
    assert "local.profiles_env" in _locals("functions.tf")["function_env"]
    encoded = str(_locals("run_job_profiles.tf")["profiles_env"])
    keys = set(re.findall(r"\b([a-z_]+)\s+=\s+(?:p\.|google_|coalesce)", encoded))
    assert "job" in keys and "google_cloud_run_v2_job.profile[name].id" in encoded
    # every key Terraform writes is one the library reads: a profile as Terraform writes it parses
    sample = {k: ("1" if k in ("cpu",) else "1Gi" if k == "memory" else 1 if k in (
        "gpu_count", "max_parallel", "max_retries", "timeout_s") else None) for k in keys}
    parsed = parse_profiles(json.dumps({"gpu": {**sample, "gpu_type": "nvidia-l4", "job": "projects/p/x"}}))
    assert parsed["gpu"].gpu_type == "nvidia-l4" and parsed["gpu"].memory_mb == 1024


def test_the_profiles_variable_refuses_a_fallback_that_is_no_other_profile_and_a_gpu_without_type() -> None:
    variable = _profiles_variable()
    conditions = " ".join(v["condition"] for v in variable["validation"])
    assert "p.fallback != name" in conditions and "contains(keys(var.profiles)" in conditions
    assert "p.gpu_count == 0 || p.gpu_type != null" in conditions
    for field in ("cpu", "memory", "gpu_type", "gpu_count", "region", "timeout_seconds", "max_parallel",
                  "fallback", "max_retries"):
        assert re.search(rf"\b{field}\s+= optional\(", variable["type"]), field


def test_the_readme_gpu_profile_is_a_valid_profiles_value_and_setting() -> None:
    readme = (REPO / "README.md").read_text()
    tfvars = re.search(r"```hcl\n(profiles = \{.*?)```", readme, re.S)
    assert tfvars, "README shows a profiles = {...} block for terraform.tfvars"
    value = hcl2.loads(tfvars.group(1), serialization_options=OPTIONS)["profiles"]
    gpu = next(p for p in value.values() if p.get("gpu_count"))
    allowed = set(re.findall(r"\b([a-z_]+)\s+= optional\(", _profiles_variable()["type"]))
    assert all(set(p) <= allowed for p in value.values())
    assert gpu["gpu_type"].startswith("nvidia-")
    setting = re.search(r"WFX_PROFILES='(\{.*?\})'", readme, re.S)
    assert setting, "README shows a WFX_PROFILES setting"
    assert any(p.gpu_count for p in parse_profiles(setting.group(1)).values())


def test_the_operators_folder_travels_in_the_function_zip_and_the_job_image() -> None:
    fn = _locals("functions.tf")
    assert "operator_code/${f}" in str(fn["source_files"]) and "local.op_files" in str(fn["source_files"])
    assert "local.op_requirements" in str(fn["generated_requirements"])
    assert 'WFX_OPERATOR_CODE         = "operator_code"' in (INFRA / "functions.tf").read_text()
    assert 'operator_dir = optional(string, "operator_code")' in (INFRA / "variables.tf").read_text()
    dockerfile = (REPO / "functions" / "job" / "Dockerfile").read_text()
    assert "COPY operator_code ./operator_code" in dockerfile
    assert "pip install --no-cache-dir -r operator_code/requirements.txt" in dockerfile
    assert "ENV WFX_OPERATOR_CODE=/app/operator_code" in dockerfile
    assert dockerfile.index("COPY operator_code") < dockerfile.index("USER runner")
    # the folder exists (COPY needs it) and `make image`'s context keeps it
    assert (REPO / "operator_code").is_dir()
    ignored = (REPO / ".gcloudignore").read_text().splitlines()
    assert not any(line.strip().startswith("operator_code") for line in ignored)
