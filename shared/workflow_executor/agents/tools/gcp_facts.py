"""Read-only facts of where this process runs, for ``gcp_environment``: the platform (Cloud Run,
Cloud Functions, a Cloud Run job, App Engine, GKE, Compute Engine or local), project and region
(the metadata server, asked only on GCP and with a short timeout), Python and the machine, and
the CPU and memory limits. Never a token, a secret or an environment value off the safe list.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ...settings_tools_data import DataToolSettings

METADATA_HOST = "metadata.google.internal"
METADATA_TIMEOUT_S = 1.0
# the only metadata paths read (never .../token or .../identity)
METADATA_PATHS = {"project_id": "project/project-id", "project_number": "project/numeric-project-id",
                  "region": "instance/region", "zone": "instance/zone",
                  "service_account": "instance/service-accounts/default/email"}
GCP_SIGNALS = ("K_SERVICE", "CLOUD_RUN_JOB", "FUNCTION_TARGET", "GAE_APPLICATION")


def platform_of(data: DataToolSettings, metadata: Mapping[str, Any]) -> str:
    env = data.runtime_env
    if env.get("FUNCTION_TARGET"):
        return "cloud_functions"
    if env.get("K_SERVICE"):
        return "cloud_run"
    if env.get("CLOUD_RUN_JOB"):
        return "cloud_run_job"
    if env.get("GAE_APPLICATION"):
        return "app_engine"
    if "KUBERNETES_SERVICE_HOST" in data.runtime_present:
        return "gke"
    return "compute_engine" if metadata else "local"


def on_gcp(data: DataToolSettings) -> bool:
    """Whether the metadata server is worth asking (a GCP runtime says so, or the operator set
    GCE_METADATA_HOST); elsewhere it is not asked at all, so a local run never waits on it."""
    return bool(data.metadata_host) or any(k in data.runtime_env for k in GCP_SIGNALS) or (
        "KUBERNETES_SERVICE_HOST" in data.runtime_present)


def read_metadata(data: DataToolSettings) -> dict[str, str]:
    """The metadata server's project, region, zone and service account e-mail ({} off GCP)."""
    if not on_gcp(data):
        return {}
    host = data.metadata_host or METADATA_HOST
    out: dict[str, str] = {}
    with requests.Session() as http:
        http.trust_env = False
        for key, path in METADATA_PATHS.items():
            try:
                resp = http.get(f"http://{host}/computeMetadata/v1/{path}", headers={"Metadata-Flavor": "Google"},
                                timeout=METADATA_TIMEOUT_S, allow_redirects=False)
            except requests.RequestException:
                if not out:
                    return {}  # no metadata server: stop asking
                continue
            if resp.status_code == 200 and len(resp.content) < 1024:
                out[key] = resp.text.strip()
    for key in ("region", "zone"):  # projects/123/regions/europe-west1 -> europe-west1
        if key in out:
            out[key] = out[key].rsplit("/", 1)[-1]
    if "zone" in out and "region" not in out:
        out["region"] = out["zone"].rsplit("-", 1)[0]
    return out


def identity(data: DataToolSettings, metadata: Mapping[str, str]) -> dict[str, Any]:
    """Project, region, service and platform."""
    env = data.runtime_env
    project = (metadata.get("project_id") or env.get("WFX_GCP_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
               or env.get("GCLOUD_PROJECT") or env.get("GCP_PROJECT"))
    region = metadata.get("region") or env.get("WFX_GCP_REGION") or env.get("GOOGLE_CLOUD_REGION") or env.get(
        "FUNCTION_REGION")
    return {
        "platform": platform_of(data, metadata), "gcp_environment": bool(metadata) or on_gcp(data),
        "project_id": project, "project_number": metadata.get("project_number"), "region": region,
        "zone": metadata.get("zone"), "service_account": metadata.get("service_account"),
        "service_name": env.get("K_SERVICE") or env.get("GAE_SERVICE") or env.get("CLOUD_RUN_JOB"),
        "revision": env.get("K_REVISION") or env.get("GAE_VERSION") or env.get("CLOUD_RUN_EXECUTION"),
        "function_target": env.get("FUNCTION_TARGET"),
    }


def runtime() -> dict[str, Any]:
    """Python and the machine."""
    return {"python_version": platform.python_version(), "python_implementation": platform.python_implementation(),
            "executable_bits": 64 if sys.maxsize > 2**32 else 32, "os": platform.system(),
            "os_release": platform.release(), "machine": platform.machine()}


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace").strip()[:4096]
    except OSError:
        return None


def limits() -> dict[str, Any]:
    """CPU and memory: what the machine has and what this container may use (cgroup v2 or v1)."""
    cpus = os.cpu_count()
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cpus
    memory_total = None
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            memory_total = int(line.split()[1]) * 1024
    mem_limit: int | None = None
    raw = _read("/sys/fs/cgroup/memory.max") or _read("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if raw and raw.isdigit() and int(raw) < (1 << 60):
        mem_limit = int(raw)
    cpu_limit: float | None = None
    quota = _read("/sys/fs/cgroup/cpu.max")
    if quota and quota.split()[0].isdigit():
        q, _, period = quota.partition(" ")
        cpu_limit = int(q) / int(period or "100000")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_count": cpus, "cpus_usable": usable, "cpu_limit": cpu_limit, "memory_total_bytes": memory_total,
            "memory_limit_bytes": mem_limit, "process_peak_rss_bytes": usage.ru_maxrss * 1024,
            "process_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}


def recommendations(facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """A few rules over the facts (no billing or monitoring data is read)."""
    out = []
    lim = facts.get("limits") or {}
    mem = lim.get("memory_limit_bytes") or lim.get("memory_total_bytes")
    if mem and mem < 512 * 2**20:
        out.append({"category": "performance", "priority": "medium", "title": "Little memory",
                    "description": f"this runtime may use {mem // 2**20} MiB; agent runs with large tool results "
                                   "may need 1 GiB or more"})
    cpu = lim.get("cpu_limit") or lim.get("cpus_usable")
    if cpu and cpu < 1:
        out.append({"category": "performance", "priority": "low", "title": "Less than one CPU",
                    "description": f"this runtime has {cpu:g} CPU; parallel steps share it"})
    if facts.get("platform") == "local":
        out.append({"category": "deployment", "priority": "low", "title": "Not on Google Cloud",
                    "description": "this is a local run; deploy with the Terraform in infra/ for Cloud Run/Functions"})
    return out
