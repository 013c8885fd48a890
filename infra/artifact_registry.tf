# The Artifact Registry repository of the isolated-mode job image. `make image` (Cloud Build,
# infra/cloudbuild.yaml, as the build service account) pushes <repository>/job:<tag> here.

resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.region
  repository_id = local.names.images
  description   = "Workflow Executor images (the isolated-mode job)."
  format        = "DOCKER"
  labels        = var.labels
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_retention
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }
  depends_on = [google_project_service.services]
}
