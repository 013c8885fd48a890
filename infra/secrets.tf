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
