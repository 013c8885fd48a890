"""``gcp_environment`` (LangSwarm: ``mcpgcp_environment``): LangSwarm's operations over read-only
facts of where this server runs (gcp_facts.py). Costs, security findings and monitoring metrics
need billing/IAM/monitoring access this tool does not take: those answers say so.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...settings_tools import ToolSettings
from ...spec.model import Tool
from ..toolbox import ToolCall
from . import gcp_facts
from .base import Operation, OperationsKind, ToolEnv

NOT_READ = "not read by this tool: it reports read-only facts of the runtime, never billing, IAM or monitoring data"


class AnalyzeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_costs: bool = Field(True, description="include the cost section")
    include_security: bool = Field(True, description="include the security section")
    include_performance: bool = Field(True, description="include the performance section")
    include_recommendations: bool = Field(True, description="include recommendations")


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")  # LangSwarm's callers pass focus_areas, time_period ...


class Facts:
    """The facts of one tool, the metadata server asked once (they do not change while it runs)."""

    def __init__(self, settings: ToolSettings) -> None:
        self.data = settings.data
        self._metadata: dict[str, str] | None = None
        self._lock = threading.Lock()

    def metadata(self) -> dict[str, str]:
        with self._lock:
            if self._metadata is None:
                self._metadata = gcp_facts.read_metadata(self.data)
            return self._metadata

    def summary(self) -> dict[str, Any]:
        meta = self.metadata()
        return {**gcp_facts.identity(self.data, meta), "runtime": gcp_facts.runtime(),
                "limits": gcp_facts.limits()}

    def environment_variables(self) -> dict[str, Any]:
        # only the safe list (runtime names such as K_SERVICE), and presence-only facts as booleans
        return {**dict(self.data.runtime_env), **{k: True for k in sorted(self.data.runtime_present)}}


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    facts = Facts(env.settings)

    def cost(_a: Any = None, _ctx: Any = None) -> dict[str, Any]:
        return {"available": False, "current_month_cost": None, "predicted_month_cost": None,
                "top_services": [], "message": f"costs are {NOT_READ}"}

    def security(_a: Any = None, _ctx: Any = None) -> dict[str, Any]:
        s = facts.summary()
        geteuid = getattr(os, "geteuid", None)
        return {"available": True, "service_account": s["service_account"],
                "runs_as_root": bool(geteuid and geteuid() == 0), "iam_roles": None, "security_findings": [],
                "message": f"IAM roles and findings are {NOT_READ}"}

    def performance(_a: Any = None, _ctx: Any = None) -> dict[str, Any]:
        load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        return {"limits": gcp_facts.limits(), "load_average": load, "cpu_utilization_avg_24h": None,
                "request_count_24h": None, "message": f"24 h metrics are {NOT_READ}"}

    def summary(a: NoArgs, ctx: ToolCall) -> Any:
        s = facts.summary()
        return {**s, "recommendations": [r["title"] for r in gcp_facts.recommendations(s)]}

    def detect_platform(a: NoArgs, ctx: ToolCall) -> Any:
        s = facts.summary()
        return {"platform": s["platform"], "is_gcp_environment": s["gcp_environment"],
                "project_info": {k: s[k] for k in ("project_id", "project_number", "region", "zone", "service_name",
                                                   "revision")},
                "environment_variables": facts.environment_variables(),
                "recommendations": [r["title"] for r in gcp_facts.recommendations(s)]}

    def optimization(a: NoArgs, ctx: ToolCall) -> Any:
        recs = gcp_facts.recommendations(facts.summary())
        return {"recommendations": recs, "total_recommendations": len(recs),
                "categories": sorted({r["category"] for r in recs}),
                "high_priority_count": sum(r["priority"] == "high" for r in recs)}

    def analyze(a: AnalyzeArgs, ctx: ToolCall) -> Any:
        s = facts.summary()
        out: dict[str, Any] = {"environment": "gcp" if s["gcp_environment"] else "local", "metadata": s,
                               "timestamp": dt.datetime.now(dt.UTC).isoformat()}
        if a.include_performance:
            out["performance_metrics"] = performance()
        if a.include_costs:
            out["cost_analysis"] = cost()
        if a.include_security:
            out["security_assessment"] = security()
        if a.include_recommendations:
            out["optimization_recommendations"] = gcp_facts.recommendations(s)
        return out

    return [
        Operation("analyze_environment", "Everything this tool knows of the runtime: platform, project, region, "
                  "limits, and the sections asked for.", AnalyzeArgs, analyze),
        Operation("get_environment_summary", "Platform, project, region, service, Python and CPU/memory limits.",
                  NoArgs, summary),
        Operation("detect_platform", "Which platform this runs on (Cloud Run, Functions, GKE, local ...).", NoArgs,
                  detect_platform),
        Operation("get_optimization_recommendations", "Recommendations from the runtime's facts.", NoArgs,
                  optimization),
        Operation("get_cost_analysis", "Costs (not read by this tool; says so).", NoArgs, lambda a, c: cost()),
        Operation("get_security_assessment", "The runtime's identity (service account) and whether it runs as root.",
                  NoArgs, lambda a, c: security()),
        Operation("get_performance_metrics", "CPU/memory limits, this process's usage and the load average.",
                  NoArgs, lambda a, c: performance()),
    ]


KIND = OperationsKind("gcp_environment", "read-only facts of the runtime: platform, project, region, Python, "
                      "CPU/memory limits (never secrets)", _operations,
                      aliases=("mcpgcp_environment", "gcp", "gcp_env"))
