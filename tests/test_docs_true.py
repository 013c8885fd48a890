"""The docs a newcomer reads agree with the code (issue 20): the lease the infra README names,
the header the tfvars example names, one mcpremote timeout, billing and the deployer's roles,
every setting the code reads, and a curl that uses $WFX_URL rather than a port."""

from __future__ import annotations

import re
from pathlib import Path

from workflow_executor.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
INFRA = (ROOT / "infra" / "README.md").read_text()


def test_the_infra_readme_names_the_real_default_lease() -> None:
    said = {float(s) for s in re.findall(r"(\d+) s\b[^.|]*?lease|lease, (\d+) s by default", INFRA) for s in s if s}
    assert said == {Settings().lease_ttl_s}


def test_the_tfvars_example_names_the_header_mcpremote_sends() -> None:
    example = (ROOT / "infra" / "terraform.tfvars.example").read_text()
    [line] = [line for line in example.splitlines() if "mcpremote" in line]
    assert "X-API-Key" in line and "Bearer" not in line


def test_every_mcpremote_snippet_has_the_deployed_timeout() -> None:
    variables = (ROOT / "infra" / "variables.tf").read_text()
    mcp = variables[variables.index("    mcp = optional(object({"):]
    deployed = int(re.search(r"timeout_seconds = optional\(number, (\d+)\)", mcp)[1])  # type: ignore[index]
    shown = [int(t) for doc in (README, INFRA)
             for block in re.findall(r"type: mcpremote.*?```", doc, re.S)
             for t in re.findall(r"^\s+timeout: (\d+)", block, re.M)]
    assert shown and set(shown) == {deployed}


def test_the_infra_readme_says_billing_and_the_deployers_roles() -> None:
    deploy = INFRA.split("## Deploy", 1)[1].split("### Two access models", 1)[0]
    assert "billing" in deploy
    roles = set(re.findall(r"`(roles/[\w.]+)`", deploy))
    # one role per kind of resource the module creates
    for needed in ("serviceusage", "iam.serviceAccountAdmin", "resourcemanager.projectIamAdmin", "cloudfunctions",
                   "run.admin", "cloudtasks", "pubsub", "cloudscheduler", "datastore", "secretmanager",
                   "artifactregistry", "storage"):
        assert any(needed in r for r in roles), needed


def test_every_setting_the_code_reads_is_in_the_readme() -> None:
    read = set()
    for module in (ROOT / "shared" / "workflow_executor").glob("settings*.py"):
        read |= set(re.findall(r'env\.get\("(WFX_[A-Z0-9_]+)"', module.read_text()))
    assert "WFX_API_KEYS_FILE" in read
    assert sorted(v for v in read if f"`{v}`" not in README) == []


def test_the_readme_curl_calls_use_wfx_url_not_a_port() -> None:
    calls = [c for c in re.findall(r"^\$ curl .*$", README, re.M) if "127.0.0.1:4020" in c or "$WFX_URL" in c
             or "${WFX_URL}" in c]
    assert calls and all("127.0.0.1" not in c for c in calls), calls
