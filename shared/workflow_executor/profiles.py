"""Execution profiles (``target_instance``): named sizes and places for isolated runs, from
``WFX_PROFILES`` (JSON; Terraform writes it from ``var.profiles`` in the cloud). A leaf module:
parsing, the choice of a run's profile, and its fallback; the job runners apply them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgument

PROFILE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_UNIT_MB = {None: 1 / 1_048_576, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024,
            "K": 1000 / 1_048_576, "M": 1_000_000 / 1_048_576, "G": 1e9 / 1_048_576, "T": 1e12 / 1_048_576}
_FIELDS = {"cpu", "memory", "gpu_type", "gpu_count", "region", "timeout_s", "max_parallel", "fallback", "job",
           "max_retries"}


@dataclass(frozen=True)
class Profile:
    """One profile. ``cpu`` in vCPUs and ``memory_mb`` are the job's limits (Cloud Run's
    resources; locally the job process's CPUs and address space); ``gpu_*`` and ``region``
    place the Cloud Run job; ``timeout_s`` caps a run's wall time; ``max_parallel`` caps the
    runs of this profile at once (locally; more wait for a slot); ``fallback`` is where a run
    killed by the infrastructure resumes, once; ``job`` the Cloud Run job (cloud and stack)."""

    name: str
    cpu: float | None = None
    memory_mb: int | None = None
    gpu_type: str | None = None
    gpu_count: int = 0
    region: str | None = None
    timeout_s: int | None = None
    max_parallel: int | None = None
    fallback: str | None = None
    job: str | None = None
    max_retries: int | None = None

    def summary(self) -> dict[str, Any]:
        """What a caller may see of it (never the job's full resource name)."""
        out: dict[str, Any] = {"name": self.name, "cpu": self.cpu, "memory_mb": self.memory_mb,
                               "gpu_type": self.gpu_type, "gpu_count": self.gpu_count or None,
                               "region": self.region, "timeout_s": self.timeout_s,
                               "max_parallel": self.max_parallel, "fallback": self.fallback}
        return {k: v for k, v in out.items() if v is not None}


def memory_mb(value: Any, where: str) -> int:
    """``"512Mi"``, ``"2Gi"``, ``"4G"`` or a number of MiB, in MiB. Errors: InvalidArgument."""
    m = _MEMORY.match(str(value).strip())
    if isinstance(value, bool) or m is None or float(m.group(1)) <= 0:
        raise InvalidArgument(f"{where} memory {str(value)[:40]!r} is not a size",
                              fix="write it as Cloud Run does, e.g. \"512Mi\" or \"4Gi\"", field="WFX_PROFILES")
    number = float(m.group(1))
    return max(1, math.ceil(number * _UNIT_MB[m.group(2)])) if m.group(2) else max(1, int(number))


def _number(item: Mapping[str, Any], key: str, where: str, cast: type[int] | type[float]) -> Any:
    raw = item.get(key)
    if raw is None:
        return None
    try:
        value = cast(str(raw).removesuffix("s")) if key == "timeout_s" else cast(raw)
    except (TypeError, ValueError):
        value = -1
    if isinstance(raw, bool) or value < (0 if key in ("gpu_count", "max_retries") else 1e-9):
        raise InvalidArgument(f"{where} {key} {str(raw)[:40]!r} is not a positive number",
                              fix=f"give {key} as a number, e.g. 2", field="WFX_PROFILES")
    return value


def parse_profiles(raw: str | None, var: str = "WFX_PROFILES") -> dict[str, Profile]:
    """``{"name": {"cpu": "2", "memory": "4Gi", "fallback": "big", ...}}`` as profiles.
    Errors: InvalidArgument naming the profile and the field, for bad JSON, an unknown field,
    a bad number or size, or a fallback that names no profile (or itself)."""
    if not (raw or "").strip():
        return {}
    try:
        data = json.loads(raw or "")
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{var} is not JSON ({exc.msg})", fix=f"set {var} to a JSON object of profiles",
                              field=var) from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{var} must be a JSON object of profiles by name", field=var,
                              fix='e.g. {"big": {"cpu": "4", "memory": "16Gi"}}')
    out: dict[str, Profile] = {}
    for name, item in data.items():
        where = f"{var} profile '{str(name)[:40]}'"
        if not PROFILE_NAME.match(str(name)) or not isinstance(item, dict):
            raise InvalidArgument(f"{where} needs a lowercase name (letters, digits, _ -) and an object",
                                  fix='e.g. "big": {"memory": "16Gi"}', field=var)
        unknown = sorted(set(item) - _FIELDS)
        if unknown:
            raise InvalidArgument(f"{where} has unknown fields: {', '.join(unknown)}",
                                  fix="use some of: " + ", ".join(sorted(_FIELDS)), field=var)
        out[name] = Profile(
            name=name, cpu=_number(item, "cpu", where, float),
            memory_mb=memory_mb(item["memory"], where) if item.get("memory") is not None else None,
            gpu_type=str(item["gpu_type"]) if item.get("gpu_type") else None,
            gpu_count=_number(item, "gpu_count", where, int) or 0, region=item.get("region") or None,
            timeout_s=_number(item, "timeout_s", where, int), max_parallel=_number(item, "max_parallel", where, int),
            fallback=item.get("fallback") or None, job=item.get("job") or None,
            max_retries=_number(item, "max_retries", where, int))
    for p in out.values():
        if p.fallback is not None and (p.fallback not in out or p.fallback == p.name):
            raise InvalidArgument(f"{var} profile '{p.name}' falls back to '{p.fallback}', which is not another "
                                  "profile", fix="name another profile as its fallback, or drop it", field=var)
    return out


def check_default(profiles: Mapping[str, Profile], default: str | None) -> str | None:
    """``WFX_DEFAULT_PROFILE`` when it names a profile. Errors: InvalidArgument."""
    if default and default not in profiles:
        raise InvalidArgument(f"WFX_DEFAULT_PROFILE '{default[:40]}' is not a profile "
                              f"(known: {known(profiles)})", fix="name one of WFX_PROFILES",
                              field="WFX_DEFAULT_PROFILE")
    return default or None


def known(profiles: Mapping[str, Profile]) -> str:
    return ", ".join(sorted(profiles)) or "none (the operator defines them in WFX_PROFILES)"


def choose(profiles: Mapping[str, Profile], default: str | None, requested: str | None,
           document: Mapping[str, Any] | None, isolated: bool) -> str | None:
    """The profile of a new run: the request's ``target_instance``, else its workflow document's
    ``settings.target_instance``, else the operator's default; None without profiles. Only an
    isolated run goes to a profile: a request naming one for another mode is refused, a
    document's or the default is not applied to it.
    Errors: InvalidArgument for an unknown profile (listing the known ones) or a wrong mode."""
    if requested is not None and not isolated:
        raise InvalidArgument("target_instance picks where an isolated run goes",
                              fix="use execution_mode 'isolated' with target_instance", field="target_instance")
    if not isolated:
        return None
    doc_default = ((document or {}).get("settings") or {}).get("target_instance")
    name = requested or (str(doc_default) if doc_default else None) or default
    if name is None:
        return None
    if name not in profiles:
        where = "target_instance" if requested else "the workflow's settings.target_instance"
        raise InvalidArgument(f"{where} '{name[:60]}' is not a profile here (known: {known(profiles)})",
                              fix="use one of the known profiles", field="target_instance")
    return name
