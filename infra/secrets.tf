# The API keys secret holds hashed keys only. Terraform creates the secret, never a version:
# no key material lives in this repository or in the Terraform state.

resource "google_secret_manager_secret" "api_keys" {
  project   = var.project_id
  secret_id = local.names.api_keys
  labels    = var.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.services]
}

# The data tools' secrets (var.tool_secrets): the GitHub token and the databases' URLs live in
# Secret Manager only; the app is told their ids (WFX_*_SECRET) and reads them on first use.
resource "google_secret_manager_secret" "tools" {
  for_each  = local.tool_secret_ids
  project   = var.project_id
  secret_id = "${var.prefix}-${each.value}"
  labels    = var.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.services]
}
