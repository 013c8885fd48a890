# Isolated mode: one Cloud Run job; the app starts one execution of it per workflow run,
# passing the execution id through env overrides. Its image comes from the Artifact Registry
# repository (artifact_registry.tf; `make image` builds functions/job/Dockerfile there with
# Cloud Build), or from var.job.image. It runs as its own service account, which holds only what a run needs
# (iam.tf); the Cloud Run service agent pulls the image, so that account needs no registry role.

resource "google_cloud_run_v2_job" "isolated" {
  count               = local.job_enabled ? 1 : 0
  project             = var.project_id
  location            = var.region
  name                = local.names.job
  labels              = var.labels
  deletion_protection = var.deletion_protection
  template {
    parallelism = 1
    task_count  = 1
    template {
      max_retries     = var.job.max_retries
      service_account = google_service_account.job.email
      timeout         = var.job.timeout
      containers {
        image = local.job_image
        resources {
          limits = {
            cpu    = var.job.cpu
            memory = var.job.memory
          }
        }
        dynamic "env" {
          # the job serves no MCP calls: it neither reads nor may read the API keys
          for_each = local.job_plain_env
          content {
            name  = env.key
            value = env.value
          }
        }
        dynamic "env" {
          for_each = var.secret_env
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }
      }
    }
  }
  depends_on = [
    google_project_service.services,
    google_project_iam_member.job,
    google_secret_manager_secret_iam_member.job_secret_env,
  ]
}
