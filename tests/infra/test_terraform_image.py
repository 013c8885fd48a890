"""The isolated-mode image: an Artifact Registry repository in Terraform, `make image` through
Cloud Build into it, the job pointing at it, and a job service account with only what a run
needs. gcloud and Terraform cannot reach Google here, so `make image` runs against two stub
commands that print the Terraform outputs and record the gcloud call: what is tested is the
wiring from outputs to the build (project, config, image, service account, context)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml
from tf_support import INFRA
from tf_support import locals_ as _locals
from tf_support import resources as _resources
from wfx_procs import ROOT


def test_the_job_runs_the_image_make_image_pushes_to_the_repository() -> None:
    resources = _resources()
    local = _locals()
    repo = resources[("google_artifact_registry_repository", "images")]
    job = resources[("google_cloud_run_v2_job", "isolated")]
    container = job["template"][0]["template"][0]["containers"][0]

    assert repo["format"] == "DOCKER"
    assert repo["repository_id"] == "${local.names.images}"
    assert "google_artifact_registry_repository.images.repository_id" in local["job_image_repository"]
    assert local["job_image"] == '${coalesce(var.job.image, "${local.job_image_repository}:${var.job.tag}")}'
    assert container["image"] == "${local.job_image}"
    assert job["count"] == "${local.job_enabled ? 1 : 0}"


def test_the_job_account_holds_only_what_a_run_needs() -> None:
    resources = _resources()
    job = resources[("google_cloud_run_v2_job", "isolated")]
    member = "serviceAccount:${google_service_account.job.email}"
    grants = {(rtype, name): body for (rtype, name), body in resources.items()
              if "_iam_" in rtype and body.get("member") == member}
    # the plain variables are a local the profiles' jobs share (run_job_profiles.tf)
    env = json.dumps(job["template"][0]["template"][0]["containers"][0]["dynamic"])
    env += json.dumps(_locals()["job_plain_env"])

    assert job["template"][0]["template"][0]["service_account"] == "${google_service_account.job.email}"
    # besides its own grants, the job holds the agents' tool grants it shares with the runtime
    # (for_each over local.tool_members: exactly the listed topics, subscriptions, secrets, datasets)
    tool_grants = {(rtype, name) for (rtype, name), body in resources.items()
                   if "_iam_" in rtype and re.search(r"local\.(tool_members|bq_grants)", json.dumps(body))}
    assert {(rtype, name) for rtype, name in grants} == {
        ("google_project_iam_member", "job"),
        ("google_pubsub_topic_iam_member", "job_publisher"),
        ("google_secret_manager_secret_iam_member", "job_secret_env"),
    }
    assert tool_grants == {
        ("google_bigquery_dataset_iam_member", "vector_search"),
        ("google_bigquery_table_iam_member", "vector_search"),
        ("google_project_iam_member", "vector_search_job_user"),
        ("google_pubsub_subscription_iam_member", "mq_subscriber"),
        ("google_pubsub_topic_iam_member", "mq_publisher"),
        ("google_secret_manager_secret_iam_member", "tool_secrets"),
    }
    assert grants[("google_project_iam_member", "job")]["for_each"] == '${toset(["roles/datastore.user"])}'
    assert grants[("google_pubsub_topic_iam_member", "job_publisher")]["topic"] == "${google_pubsub_topic.events.name}"
    assert grants[("google_secret_manager_secret_iam_member", "job_secret_env")]["for_each"] == \
        "${toset(values(var.secret_env))}"
    assert 'k != \\"WFX_API_KEYS_SECRET\\"' in env  # the job is not told where the API keys are


def test_cloud_build_builds_the_job_dockerfile_into_the_image_it_is_given() -> None:
    config = yaml.safe_load((INFRA / "cloudbuild.yaml").read_text())
    ignored = (ROOT / ".gcloudignore").read_text().splitlines()

    assert config["steps"][0]["args"] == ["build", "-f", "functions/job/Dockerfile", "-t", "${_IMAGE}", "."]
    assert config["images"] == ["${_IMAGE}"]
    assert (ROOT / "functions" / "job" / "Dockerfile").is_file()
    assert {".venv/", ".wfx/", "infra/keys.json"} <= set(ignored)


def _stubs(tmp: Path) -> tuple[dict[str, str], Path]:
    bin_dir, calls = tmp / "bin", tmp / "gcloud.args"
    bin_dir.mkdir()
    outputs = {"job_image_repository": "europe-west1-docker.pkg.dev/acme/wfx-images/job", "project_id": "acme"}
    accounts = json.dumps({"build": "wfx-build@acme.iam.gserviceaccount.com"})
    (bin_dir / "terraform").write_text(
        "#!/bin/sh\n# stub: prints this deployment's outputs\n"
        'for last; do :; done\n'
        f'case "$last" in job_image_repository) printf %s "{outputs["job_image_repository"]}";; '
        f'project_id) printf %s "{outputs["project_id"]}";; '
        f"service_accounts) printf '%s' '{accounts}';; *) exit 1;; esac\n")
    (bin_dir / "gcloud").write_text(f'#!/bin/sh\n# stub: records the call\npwd > "{calls}"\n'
                                    f'for a; do echo "$a" >> "{calls}"; done\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, calls


def test_make_image_submits_the_build_with_the_outputs_of_the_deployment(tmp_path: Path) -> None:
    env, calls = _stubs(tmp_path)

    out = subprocess.run(["make", "-s", "image", "TAG=v2"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)

    assert out.returncode == 0, out.stderr
    cwd, *argv = calls.read_text().splitlines()
    assert Path(cwd) == ROOT
    assert argv == ["builds", "submit", "--project", "acme", "--config", "infra/cloudbuild.yaml",
                    "--substitutions", "_IMAGE=europe-west1-docker.pkg.dev/acme/wfx-images/job:v2",
                    "--service-account", "projects/acme/serviceAccounts/wfx-build@acme.iam.gserviceaccount.com", "."]
    assert "job={enabled=true,tag=\"v2\"}" in out.stdout


def test_make_image_before_terraform_apply_says_what_to_do(tmp_path: Path) -> None:
    env, calls = _stubs(tmp_path)
    (tmp_path / "bin" / "terraform").write_text("#!/bin/sh\necho 'No outputs found' >&2\nexit 1\n")

    out = subprocess.run(["make", "-s", "image"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert out.returncode != 0
    assert "run terraform apply in infra/ first" in out.stderr
    assert not calls.exists()
