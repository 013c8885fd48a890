#!/usr/bin/env bash
# `make image [TAG=latest]`: build functions/job/Dockerfile with Cloud Build and push it to the
# Artifact Registry repository that `terraform apply` in infra/ created, as the deployment's
# build service account. Reads everything it needs from the Terraform outputs.
set -euo pipefail
tag="${1:-latest}"
root="$(cd "$(dirname "$0")/.." && pwd)"
output() { terraform -chdir="$root/infra" output "$@"; }

if ! repository="$(output -raw job_image_repository 2>/dev/null)" || [ -z "$repository" ]; then
  echo "make image: infra/ has no job_image_repository output yet; run terraform apply in infra/ first" >&2
  exit 2
fi
project="$(output -raw project_id)"
build_sa="$(output -json service_accounts | python3 -c 'import json, sys; print(json.load(sys.stdin)["build"])')"
image="$repository:$tag"

cd "$root"  # the build context is the repository root (.gcloudignore keeps .venv and .wfx out)
gcloud builds submit --project "$project" --config infra/cloudbuild.yaml \
  --substitutions "_IMAGE=$image" \
  --service-account "projects/$project/serviceAccounts/$build_sa" .
echo "pushed $image; point the job at it: terraform apply ... -var 'job={enabled=true,tag=\"$tag\"}'"
