"""Structural checks of infra/: it parses, is formatted, and wires what the app expects.

Terraform cannot download providers here, so `validate`/`plan` are out of reach; these tests
read the configuration with python-hcl2 (>= 8, for SerializationOptions) instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
TF_FILES = sorted(p for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts)
ENTITY_FILES = [
    "firestore.tf",
    "functions.tf",
    "iam.tf",
    "main.tf",
    "outputs.tf",
    "pubsub.tf",
    "run_job.tf",
    "secrets.tf",
    "tasks.tf",
    "variables.tf",
    "versions.tf",
]
APP_ENV = [
    "WFX_API_KEYS_SECRET",
    "WFX_EVENTS",
    "WFX_EVENTS_TOPIC",
    "WFX_FIRESTORE_DATABASE",
    "WFX_GCP_PROJECT",
    "WFX_JOBS",
    "WFX_QUEUE",
    "WFX_RUN_JOB",
    "WFX_STORE",
    "WFX_TASKS_QUEUE",
    "WFX_TASKS_SERVICE_ACCOUNT",
    "WFX_WORKER_URL",
]
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False, preserve_heredocs=False
)


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    return {path.name: _load(path) for path in TF_FILES}


def _blocks(parsed: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """All labelled blocks of one kind (variable, output) across files, by label."""
    found: dict[str, Any] = {}
    for document in parsed.values():
        for entry in document.get(kind, []):
            found.update(entry)
    return found


def _resources(parsed: dict[str, dict[str, Any]], kind: str = "resource") -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for document in parsed.values():
        for entry in document.get(kind, []):
            for rtype, by_name in entry.items():
                for name, body in by_name.items():
                    found[(rtype, name)] = body
    return found


def _functions(parsed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: body for (rtype, name), body in _resources(parsed).items() if rtype == "google_cloudfunctions2_function"
    }


def _locals(parsed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for document in parsed.values():
        for entry in document.get("locals", []):
            found.update(entry)
    return found


def _text(value: Any) -> str:
    return json.dumps(value)


def _all_tf_text() -> str:
    return "\n".join(path.read_text() for path in TF_FILES)


def _optional_default(type_expr: str, attribute: str) -> str:
    """The default that `attribute = optional(type, default)` gives inside an object type."""
    match = re.search(rf"\b{attribute} = optional\([a-z]+, \"([^\"]*)\"\)", type_expr)
    assert match, f"{attribute} has no optional() default in {type_expr}"
    return match.group(1)


@pytest.mark.parametrize("name", ENTITY_FILES)
def test_one_file_per_entity_exists(name: str) -> None:
    assert (INFRA / name).is_file()


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: p.name)
def test_every_tf_file_parses(path: Path) -> None:
    assert isinstance(_load(path), dict)


def test_terraform_fmt_reports_no_changes() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("the terraform binary is not installed")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "infra"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"files needing `terraform fmt`: {result.stdout}"


def test_every_referenced_variable_is_declared(parsed: dict[str, dict[str, Any]]) -> None:
    referenced = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", _all_tf_text()))
    declared = set(_blocks(parsed, "variable"))

    assert referenced - declared == set()


def test_every_declared_variable_is_used(parsed: dict[str, dict[str, Any]]) -> None:
    referenced = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", _all_tf_text()))

    assert set(_blocks(parsed, "variable")) - referenced == set()


def test_every_variable_has_a_description_and_a_type(parsed: dict[str, dict[str, Any]]) -> None:
    variables = _blocks(parsed, "variable")

    assert variables
    for name, body in variables.items():
        assert body.get("description", "").strip(), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


def test_variables_are_sorted_alphabetically(parsed: dict[str, dict[str, Any]]) -> None:
    names = [next(iter(entry)) for entry in parsed["variables.tf"]["variable"]]

    assert names == sorted(names)


def test_object_variables_default_their_attributes_with_optional(parsed: dict[str, dict[str, Any]]) -> None:
    objects = {n: b for n, b in _blocks(parsed, "variable").items() if b["type"].startswith("${object(")}

    assert {"firestore", "functions", "job", "queue"} <= set(objects)
    for name, body in objects.items():
        assert "optional(" in body["type"], f"variable {name} has no optional() attribute"
        assert body.get("default") == {}, f"variable {name} should default to {{}} so optional() applies"


def test_variables_the_brief_names_are_declared(parsed: dict[str, dict[str, Any]]) -> None:
    variables = _blocks(parsed, "variable")
    expected = {
        "allow_unauthenticated",
        "api_keys_secret",
        "events_topic",
        "firestore",
        "function_source",
        "job",
        "prefix",
        "project_id",
        "queue",
        "region",
        "source_dir",
        "trigger_topics",
        "worker_concurrency",
    }

    assert expected <= set(variables)
    assert variables["allow_unauthenticated"]["default"] is False
    assert "default" not in variables["project_id"]


def test_providers_are_pinned_and_terraform_is_at_least_1_5(parsed: dict[str, dict[str, Any]]) -> None:
    terraform = parsed["versions.tf"]["terraform"][0]
    providers = terraform["required_providers"][0]

    assert terraform["required_version"] == ">= 1.5.0"
    for name in ("google", "google-beta"):
        assert providers[name]["source"] == f"hashicorp/{name}"
        assert re.fullmatch(r">= [\d.]+, < [\d.]+", providers[name]["version"]), providers[name]


def test_no_random_provider_is_used(parsed: dict[str, dict[str, Any]]) -> None:
    providers = parsed["versions.tf"]["terraform"][0]["required_providers"][0]
    types = {rtype for rtype, _ in _resources(parsed)}

    assert "random" not in providers
    assert not [t for t in types if t.startswith("random_")]


def test_the_three_functions_run_python311_with_their_entry_points(parsed: dict[str, dict[str, Any]]) -> None:
    functions = _functions(parsed)

    assert set(functions) == {"mcp", "worker", "events"}
    for name, body in functions.items():
        build = body["build_config"][0]
        assert build["entry_point"] == name
        assert build["runtime"] == "python311"


def test_the_functions_are_built_from_one_zip_of_the_staged_source(parsed: dict[str, dict[str, Any]]) -> None:
    resources = _resources(parsed)
    archive = _resources(parsed, "data")[("archive_file", "function_source")]
    sources = {
        _text(body["build_config"][0]["source"])
        for (rtype, _), body in resources.items()
        if rtype == "google_cloudfunctions2_function"
    }

    assert archive["type"] == "zip"
    assert "local.source_files" in _text(archive)
    assert (
        "archive_file.function_source.output_path"
        in resources[("google_storage_bucket_object", "function_source")]["source"]
    )
    assert len(sources) == 1
    assert "google_storage_bucket_object.function_source.name" in sources.pop()


def test_the_functions_receive_every_setting_the_app_reads(parsed: dict[str, dict[str, Any]]) -> None:
    env_locals = _locals(parsed)
    defined = _text([env_locals["base_env"], env_locals["job_env"]])
    functions = _functions(parsed)

    for name in APP_ENV:
        if name == "WFX_WORKER_URL":
            continue
        assert re.search(rf"\b{name} = ", defined), f"{name} is never set"
    for fixed in ('WFX_STORE = \\"firestore\\"', 'WFX_QUEUE = \\"cloud_tasks\\"', 'WFX_EVENTS = \\"pubsub\\"'):
        assert fixed in defined
    assert 'WFX_JOBS = \\"cloud_run\\"' in defined
    for name, body in functions.items():
        env = body["service_config"][0]["environment_variables"]
        assert "local.function_env" in env, f"{name} misses the shared settings"
        assert "WFX_WORKER_URL = " in env, f"{name} misses WFX_WORKER_URL"


def test_functions_reference_each_other_only_one_way(parsed: dict[str, dict[str, Any]]) -> None:
    functions = _functions(parsed)
    edges = {
        name: set(re.findall(r"google_cloudfunctions2_function\.(\w+)", _text(body))) - {name}
        for name, body in functions.items()
    }

    assert edges == {"mcp": {"worker"}, "events": {"worker"}, "worker": set()}
    assert "google_cloudfunctions2_function.worker.service_config[0].uri" in _text(functions["mcp"])


def test_the_worker_is_not_publicly_invokable(parsed: dict[str, dict[str, Any]]) -> None:
    resources = _resources(parsed)
    worker_grants = [
        body
        for (rtype, _), body in resources.items()
        if "_iam_" in rtype and "google_cloudfunctions2_function.worker" in _text(body)
    ]
    functions_type = _blocks(parsed, "variable")["functions"]["type"]
    worker_type = functions_type[functions_type.index("worker = optional(") :]

    assert worker_grants, "the worker should have an explicit invoker"
    for grant in worker_grants:
        members = {grant.get("member", "")} | set(grant.get("members", []))
        assert not members & PUBLIC_MEMBERS
        assert grant["member"] == "serviceAccount:${google_service_account.tasks.email}"
    worker = resources[("google_cloudfunctions2_function", "worker")]["service_config"][0]
    assert worker["ingress_settings"] == "${var.functions.worker.ingress}"
    assert _optional_default(worker_type, "ingress") == "ALLOW_INTERNAL_ONLY"


def test_only_the_mcp_function_can_be_public_and_only_on_request(parsed: dict[str, dict[str, Any]]) -> None:
    public = {
        (rtype, name): body
        for (rtype, name), body in _resources(parsed).items()
        if "_iam_" in rtype and ({body.get("member")} | set(body.get("members", []))) & PUBLIC_MEMBERS
    }

    assert list(public) == [("google_cloud_run_v2_service_iam_member", "mcp_public")]
    grant = public[("google_cloud_run_v2_service_iam_member", "mcp_public")]
    assert grant["count"] == "${var.allow_unauthenticated ? 1 : 0}"
    assert grant["name"] == "${google_cloudfunctions2_function.mcp.name}"


def test_the_runtime_and_tasks_accounts_get_the_roles_they_need() -> None:
    roles = set(re.findall(r"roles/[A-Za-z.]+", (INFRA / "iam.tf").read_text()))

    assert {
        "roles/cloudtasks.enqueuer",
        "roles/datastore.user",
        "roles/iam.serviceAccountUser",
        "roles/pubsub.publisher",
        "roles/run.developer",
        "roles/run.invoker",
        "roles/secretmanager.secretAccessor",
    } <= roles
    assert not {"roles/owner", "roles/editor"} & roles


def test_the_queue_takes_retry_and_rate_limits_from_variables(parsed: dict[str, dict[str, Any]]) -> None:
    queue = _resources(parsed)[("google_cloud_tasks_queue", "executions")]
    retry = queue["retry_config"][0]
    rates = queue["rate_limits"][0]

    assert set(retry) >= {"max_attempts", "min_backoff", "max_backoff", "max_doublings", "max_retry_duration"}
    assert all(value.startswith("${var.queue.") for value in retry.values())
    assert all(value.startswith("${var.queue.") for value in rates.values())


def test_the_firestore_ttl_field_is_expire_at_on_executions(parsed: dict[str, dict[str, Any]]) -> None:
    field = _resources(parsed)[("google_firestore_field", "executions_ttl")]
    firestore_type = _blocks(parsed, "variable")["firestore"]["type"]

    assert "ttl_config" in field
    assert field["collection"] == "${local.executions_collection}"
    assert _locals(parsed)["executions_collection"] == "executions"
    assert field["field"] == "${var.firestore.ttl_field}"
    assert _optional_default(firestore_type, "ttl_field") == "expire_at"


def test_the_four_composite_execution_indexes_exist(parsed: dict[str, dict[str, Any]]) -> None:
    index = _resources(parsed)[("google_firestore_index", "executions")]
    declared = {
        tuple((f["field_path"], f["order"]) for f in fields) for fields in _locals(parsed)["execution_indexes"].values()
    }

    assert index["for_each"] == "${local.execution_indexes}"
    assert index["collection"] == "${local.executions_collection}"
    assert "fields" in index["dynamic"][0]
    assert declared == {
        (("status", "ASCENDING"), ("created_at_s", "DESCENDING")),
        (("workflow_name", "ASCENDING"), ("created_at_s", "DESCENDING")),
        (("principal", "ASCENDING"), ("created_at_s", "DESCENDING")),
        (("principal", "ASCENDING"), ("status", "ASCENDING"), ("created_at_s", "DESCENDING")),
    }


def test_event_delivery_is_ordered_and_dead_lettered(parsed: dict[str, dict[str, Any]]) -> None:
    resources = _resources(parsed)
    subscription = resources[("google_pubsub_subscription", "to_events_function")]
    push = subscription["push_config"][0]

    assert subscription["for_each"] == "${local.push_sources}"
    assert subscription["enable_message_ordering"] == "${var.events_subscription.message_ordering}"
    assert subscription["dead_letter_policy"][0]["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    # the topic path on the URL is how functions-framework tells the events function the topic
    assert push["push_endpoint"] == "${google_cloudfunctions2_function.events.service_config[0].uri}/${each.value}"
    assert push["oidc_token"][0]["service_account_email"] == "${google_service_account.events_push.email}"
    assert "google_pubsub_topic.triggers" in _text(_locals(parsed)["push_sources"])
    assert resources[("google_pubsub_topic", "triggers")]["for_each"] == "${local.trigger_topics}"
    assert "var.trigger_topics" in _locals(parsed)["trigger_topics"]


def test_outputs_include_the_function_urls_and_the_mcpremote_snippet(parsed: dict[str, dict[str, Any]]) -> None:
    outputs = _blocks(parsed, "output")

    assert outputs["mcp_url"]["value"] == "${google_cloudfunctions2_function.mcp.service_config[0].uri}"
    assert outputs["worker_url"]["value"] == "${google_cloudfunctions2_function.worker.service_config[0].uri}"
    assert outputs["queue_id"]["value"] == "${google_cloud_tasks_queue.executions.id}"
    assert outputs["events_topic_id"]["value"] == "${google_pubsub_topic.events.id}"
    assert "mcpremote_snippet" in outputs
    for name, body in outputs.items():
        assert body.get("description"), f"output {name} has no description"


def test_every_resource_name_derives_from_the_prefix(parsed: dict[str, dict[str, Any]]) -> None:
    names = _locals(parsed)["names"]

    for key, value in names.items():
        assert "var.prefix" in value, f"local.names.{key} ignores var.prefix"
    for (rtype, rname), body in _resources(parsed).items():
        if "_iam_" in rtype:
            continue  # a grant names the resource it applies to, not itself
        for attribute in ("name", "account_id", "secret_id"):
            value = body.get(attribute)
            if value is None:
                continue
            assert "var.prefix" in value or "local.names." in value, f"{rtype}.{rname}.{attribute} = {value}"


def test_no_secret_version_is_managed_here(parsed: dict[str, dict[str, Any]]) -> None:
    types = {rtype for rtype, _ in _resources(parsed)}

    assert "google_secret_manager_secret" in types
    assert "google_secret_manager_secret_version" not in types
    assert "secret_data" not in _all_tf_text()


def test_no_file_in_infra_looks_like_a_secret() -> None:
    patterns = {
        "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
        "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"),
        "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
        "service account key": re.compile(r'"private_key_id"\s*:'),
        "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    }
    files = [
        p for p in INFRA.rglob("*") if p.is_file() and not {".terraform", ".build"} & set(p.relative_to(INFRA).parts)
    ]

    assert files
    for path in files:
        text = path.read_text(errors="replace")
        for what, pattern in patterns.items():
            assert not pattern.search(text), f"{path.relative_to(REPO)} contains what looks like a {what}"


def test_the_tfvars_example_sets_only_declared_variables(parsed: dict[str, dict[str, Any]]) -> None:
    example = hcl2.loads((INFRA / "terraform.tfvars.example").read_text(), serialization_options=OPTIONS)

    assert "project_id" in example
    assert set(example) - {"__comments__"} <= set(_blocks(parsed, "variable"))


def test_the_readme_shows_the_deploy_command_and_every_output(parsed: dict[str, dict[str, Any]]) -> None:
    readme = (INFRA / "README.md").read_text()

    assert "terraform init && terraform apply -var project_id=" in readme
    for name in _blocks(parsed, "output"):
        assert f"`{name}`" in readme, f"README does not mention output {name}"
