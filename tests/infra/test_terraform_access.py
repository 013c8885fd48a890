"""The deploy works pasted as is: the printed mcpremote snippet, run through LangSwarm's real
client and its header substitution, reaches a server keyed with the API key that the documented
first-key command made; and the access model the README documents is what the IAM wiring does.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import hcl2
import pytest
import requests
import yaml
from wfx_procs import ROOT, serving

INFRA = ROOT / "infra"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                    preserve_heredocs=False)
URL_REF = "${google_cloudfunctions2_function.mcp.service_config[0].uri}"
TIMEOUT_REF = "${var.functions.mcp.timeout_seconds}"


def _mcp_timeout_default() -> int:
    functions_type = hcl2.loads((INFRA / "variables.tf").read_text(), serialization_options=OPTIONS)
    body = next(e["functions"] for e in functions_type["variable"] if "functions" in e)["type"]
    mcp = body[body.index("mcp = optional("):]
    match = re.search(r"timeout_seconds = optional\(number, (\d+)\)", mcp)
    assert match, "functions.mcp.timeout_seconds has no default"
    return int(match.group(1))


def render_snippet(url: str) -> str:
    """The mcpremote_snippet output as `terraform output -raw` prints it, for ``url``."""
    text = (INFRA / "outputs.tf").read_text()
    match = re.search(r'output "mcpremote_snippet" \{.*?<<-EOT\n(.*?)\n\s*EOT', text, re.S)
    assert match, "mcpremote_snippet is not a heredoc"
    rendered = textwrap.dedent(match.group(1)).replace(URL_REF, url).replace(
        TIMEOUT_REF, str(_mcp_timeout_default()))
    assert not re.search(r"(?<!\$)\$\{(?!\$)", rendered.replace("$${", "")), "an unrendered interpolation is left"
    return rendered.replace("$${", "${")


def substitutes_whole_value(value: str) -> bool:
    """LangSwarm's rule (langswarm/tools/mcp/remote/main.py): a header value is replaced by the
    environment variable it names only when the whole value is ``${NAME}``."""
    return value.startswith("${") and value.endswith("}")


def test_the_snippet_has_the_exact_form_mcpremote_substitutes() -> None:
    tool = yaml.safe_load(render_snippet("https://wfx-mcp-1.us-central1.run.app"))["tools"][0]

    assert tool == {
        "id": "workflow_executor",
        "type": "mcpremote",
        "description": "Run, generate, watch and cancel workflows",
        "mcp_url": "https://wfx-mcp-1.us-central1.run.app",
        "headers": {"X-API-Key": "${WFX_API_KEY}"},
        "timeout": _mcp_timeout_default(),
        "retry_count": 3,
    }
    for value in tool["headers"].values():
        # every templated header must be one whole ${VAR}, or mcpremote sends it literally
        assert "${" not in value or (substitutes_whole_value(value) and re.fullmatch(r"\$\{[A-Z_]+\}", value))
    assert not substitutes_whole_value("Bearer ${env:WFX_API_KEY}")  # the old, broken form


def _documented(readme: Path, needle: str) -> str:
    """The one command line of ``readme`` that contains ``needle``."""
    lines = [line for line in readme.read_text().splitlines() if needle in line and not line.startswith("(")]
    assert len(lines) == 1, lines
    return lines[0].strip()


def _first_key_by_the_documented_command(workdir: Path) -> tuple[str, str]:
    """Run the infra README's first-key command as written (from infra/, here a copy's place);
    returns (the printed key, the keys file content that goes into the secret)."""
    command = _documented(INFRA / "README.md", "wfx keys create")
    assert command.startswith("export WFX_API_KEY=$(WFX_API_KEYS_FILE=keys.json ../.venv/bin/wfx keys create")
    (workdir / "infra").mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    out = subprocess.run(["bash", "-c", f'set -e; {command}\nprintf %s "$WFX_API_KEY"'], cwd=workdir / "infra",
                         capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("WFX_")})
    assert out.returncode == 0, out.stderr
    secret = (workdir / "infra" / "keys.json").read_text()
    assert out.stdout not in secret  # the file holds only the salted hash
    return out.stdout, secret


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server configured like the mcp function after the documented first-key step: its keys
    are the secret's content (WFX_API_KEYS carries the same JSON the function reads from it)."""
    work = tmp_path_factory.mktemp("deploy")
    key, secret = _first_key_by_the_documented_command(work)
    assert json.loads(secret)["keys"][0]["name"] == "my-agent"
    with serving(work / "home", WFX_API_KEYS=secret, WFX_API_KEYS_FILE=str(work / "none.json")) as url:
        yield url, key


def _remote_tool(tool: dict[str, Any]) -> Any:
    remote = pytest.importorskip("langswarm.tools.mcp.remote.main")
    with contextlib.redirect_stdout(io.StringIO()):  # its constructor prints a harmless warning
        return remote.RemoteMCPTool(identifier=tool["id"], mcp_url=tool["mcp_url"], headers=dict(tool["headers"]),
                                    timeout=tool["timeout"], retry_count=tool["retry_count"])


def test_the_printed_snippet_reaches_the_deployment_through_langswarms_own_client(
        deployed: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, key = deployed
    monkeypatch.setenv("WFX_API_KEY", key)
    tool = yaml.safe_load(render_snippet(url))["tools"][0]

    listed = _remote_tool(tool).run({"method": "list_tools"})

    assert "execute_workflow" in listed["tools"], listed


def test_the_old_bearer_env_form_is_refused_so_the_snippet_test_can_fail(
        deployed: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, key = deployed
    monkeypatch.setenv("WFX_API_KEY", key)
    tool = yaml.safe_load(render_snippet(url))["tools"][0]
    tool["headers"] = {"Authorization": "Bearer ${env:WFX_API_KEY}"}
    tool["retry_count"] = 0

    with contextlib.redirect_stdout(io.StringIO()):
        listed = _remote_tool(tool).run({"method": "list_tools"})

    assert "execute_workflow" not in json.dumps(listed)


@pytest.mark.parametrize("headers", [
    {"X-API-Key": "KEY"},
    {"Authorization": "Bearer KEY"},
    # behind Cloud Run IAM the identity token may sit in Authorization; the key in X-API-Key wins
    {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "X-API-Key": "KEY"},
    {"X-Serverless-Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "Authorization": "Bearer KEY"},
])
def test_the_server_accepts_the_key_in_either_header_and_beside_an_identity_token(
        deployed: tuple[str, str], headers: dict[str, str]) -> None:
    url, key = deployed
    sent = {k: v.replace("KEY", key) for k, v in headers.items()}

    ok = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=sent, timeout=30)
    refused = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)

    assert ok.status_code == 200, ok.text
    assert refused.status_code == 401


def _apply_vars(command: str) -> dict[str, str]:
    return dict(re.findall(r"-var ([a-z_]+)=(\S+)", command))


def test_the_documented_apply_picks_the_api_key_model_and_that_makes_the_mcp_function_public() -> None:
    root_readme = (ROOT / "README.md").read_text()
    infra_cmd = _documented(INFRA / "README.md", "terraform init && terraform apply")
    root_cmd = next(line for line in root_readme.splitlines() if "terraform apply" in line)
    iam = hcl2.loads((INFRA / "iam.tf").read_text(), serialization_options=OPTIONS)
    grants = {name: body for entry in iam["resource"] for rtype, by_name in entry.items()
              if rtype == "google_cloud_run_v2_service_iam_member" for name, body in by_name.items()}

    for command in (infra_cmd, root_cmd):
        assert _apply_vars(command).get("allow_unauthenticated") == "true", command
    # the invoker follows the access model: allUsers exactly when allow_unauthenticated is true
    assert grants["mcp_public"]["member"] == "allUsers"
    assert grants["mcp_public"]["count"] == "${var.allow_unauthenticated ? 1 : 0}"
    assert grants["mcp_invokers"]["for_each"] == "${toset(var.mcp_invokers)}"
    check = iam["check"][0]["mcp_is_reachable"]["assert"][0]
    assert check["condition"] == "${var.allow_unauthenticated || length(var.mcp_invokers) > 0}"
    example = hcl2.loads((INFRA / "terraform.tfvars.example").read_text(), serialization_options=OPTIONS)
    assert example["allow_unauthenticated"] is True


def test_the_readmes_state_both_access_models_and_the_first_key_reaches_the_secret() -> None:
    infra = (INFRA / "README.md").read_text()
    root = (ROOT / "README.md").read_text()

    for text in (infra, root):
        assert "API key through the public URL" in text
        assert "Google IAM identity tokens" in text
    add = _documented(INFRA / "README.md", "gcloud secrets versions add")
    assert add == 'gcloud secrets versions add "$(terraform output -raw api_keys_secret)" --data-file=keys.json'
    outputs = hcl2.loads((INFRA / "outputs.tf").read_text(), serialization_options=OPTIONS)
    secret_out = next(e["api_keys_secret"] for e in outputs["output"] if "api_keys_secret" in e)
    assert secret_out["value"] == "${google_secret_manager_secret.api_keys.id}"


def _resources(path: Path, rtype: str) -> dict[str, Any]:
    parsed = hcl2.loads(path.read_text(), serialization_options=OPTIONS)
    return {name: body for entry in parsed.get("resource", []) for t, by_name in entry.items() if t == rtype
            for name, body in by_name.items()}


def test_the_secret_the_documented_command_fills_is_the_one_the_mcp_function_reads() -> None:
    """The first-key path, wire by wire: the README's `gcloud secrets versions add` writes to the
    `api_keys_secret` output; that is the secret the mcp function is told to read
    (WFX_API_KEYS_SECRET, not overridable by `env`), and the account it runs as may read it."""
    add = _documented(INFRA / "README.md", "gcloud secrets versions add")
    secret_ref = "${google_secret_manager_secret.api_keys.id}"
    outputs = hcl2.loads((INFRA / "outputs.tf").read_text(), serialization_options=OPTIONS)
    locals_ = hcl2.loads((INFRA / "functions.tf").read_text(), serialization_options=OPTIONS)["locals"][0]
    mcp = _resources(INFRA / "functions.tf", "google_cloudfunctions2_function")["mcp"]["service_config"][0]
    grant = _resources(INFRA / "iam.tf", "google_secret_manager_secret_iam_member")["runtime_api_keys"]
    runtime = hcl2.loads((INFRA / "iam.tf").read_text(), serialization_options=OPTIONS)["locals"][0]["runtime"]

    assert '"$(terraform output -raw api_keys_secret)"' in add
    assert next(e["api_keys_secret"] for e in outputs["output"] if "api_keys_secret" in e)["value"] == secret_ref
    # merge(var.env, local.tool_env, {...}): the fixed map comes last, so a user's `env` cannot
    # point it elsewhere
    assert re.fullmatch(r"\$\{merge\(var\.env, local\.tool_env, "
                        r"\{WFX_API_KEYS_SECRET = google_secret_manager_secret\.api_keys\.id, .*\}\)\}",
                        locals_["base_env"])
    assert locals_["function_env"].startswith("${merge(local.base_env,")
    assert mcp["environment_variables"].startswith("${merge(local.function_env,")
    assert mcp["service_account_email"] == "${google_service_account.runtime.email}"
    assert runtime == "serviceAccount:${google_service_account.runtime.email}"
    assert grant == {"project": "${var.project_id}", "secret_id": "${google_secret_manager_secret.api_keys.secret_id}",
                     "role": "roles/secretmanager.secretAccessor", "member": "${local.runtime}"}


def test_until_the_secret_has_a_version_every_call_is_refused_and_the_documented_key_then_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mcp function's wiring (services.build with WFX_API_KEYS_SECRET) over a stand-in for
    Secret Manager's `versions/latest`: no version means keyed and closed, never open; the
    keys.json of the documented first-key command then lets the printed key in."""
    from workflow_executor.adapters import secret_manager
    from workflow_executor.mcp.http import handle
    from workflow_executor.services import build
    from workflow_executor.settings import Settings

    key, keys_json = _first_key_by_the_documented_command(tmp_path)
    name = "projects/my-project/secrets/wfx-api-keys"
    versions: list[str] = []
    asked: list[str] = []

    def latest(secret: str) -> str | None:
        asked.append(secret)
        return versions[-1] if versions else None

    monkeypatch.setattr(secret_manager, "read_secret", latest)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()

    def call() -> int:  # a fresh instance each time: the secret is re-read per instance
        services = build(Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "WFX_STORE": "memory",
                                            "WFX_API_KEYS_SECRET": name}))
        try:
            return handle(services, "POST", "/", {"content-type": "application/json", "x-api-key": key},
                          body, "").status
        finally:
            services.close()

    before = call()
    versions.append(keys_json)  # gcloud secrets versions add ... --data-file=keys.json
    after = call()

    assert asked == [name, name]
    assert before == 401
    assert after == 200
