# Isolated mode: one Cloud Run job; the app starts one execution of it per workflow run,
# passing the execution id through env overrides. Created only when var.job.image is set.

resource "google_cloud_run_v2_job" "isolated" {
  count               = var.job.image == null ? 0 : 1
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
      service_account = google_service_account.runtime.email
      timeout         = var.job.timeout
      containers {
        image = var.job.image
        resources {
          limits = {
            cpu    = var.job.cpu
            memory = var.job.memory
          }
        }
        dynamic "env" {
          for_each = merge(local.base_env, { WFX_WORKER_URL = local.worker_deterministic_url })
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
    google_secret_manager_secret_iam_member.secret_env,
  ]
}
