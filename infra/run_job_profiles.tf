# Execution profiles (target_instance): one Cloud Run job per entry of var.profiles, in the
# profile's region, with its CPU, memory, GPUs, timeout and retries; otherwise the same job as
# run_job.tf (image, service account, environment). The functions learn each profile's job from
# WFX_PROFILES; a run picks a profile with target_instance, and a run the infrastructure killed
# resumes once on the profile's fallback.

locals {
  profile_jobs = local.job_enabled ? var.profiles : {}
  # what the job may know: the functions' settings without the API keys, and the worker's URL
  job_plain_env = merge(
    { for k, v in local.base_env : k => v if k != "WFX_API_KEYS_SECRET" },
    { WFX_WORKER_URL = local.worker_deterministic_url },
  )
  profiles_env = length(local.profile_jobs) == 0 ? {} : {
    WFX_PROFILES = jsonencode({
      for name, p in local.profile_jobs : name => {
        cpu          = p.cpu
        fallback     = p.fallback
        gpu_count    = p.gpu_count
        gpu_type     = p.gpu_type
        job          = google_cloud_run_v2_job.profile[name].id
        max_parallel = p.max_parallel
        max_retries  = p.max_retries
        memory       = p.memory
        region       = coalesce(p.region, var.region)
        timeout_s    = p.timeout_seconds
      }
    })
  }
}

resource "google_cloud_run_v2_job" "profile" {
  for_each            = local.profile_jobs
  project             = var.project_id
  location            = coalesce(each.value.region, var.region)
  name                = "${local.names.job}-${each.key}"
  labels              = merge(var.labels, { wfx-profile = each.key })
  deletion_protection = var.deletion_protection
  # GPUs on Cloud Run jobs are a preview feature
  launch_stage = each.value.gpu_count > 0 ? "BETA" : null
  template {
    parallelism = 1
    task_count  = 1
    template {
      max_retries     = each.value.max_retries
      service_account = google_service_account.job.email
      timeout         = "${each.value.timeout_seconds}s"
      dynamic "node_selector" {
        for_each = each.value.gpu_count > 0 ? [each.value.gpu_type] : []
        content {
          accelerator = node_selector.value
        }
      }
      containers {
        image = local.job_image
        resources {
          limits = merge(
            { cpu = each.value.cpu, memory = each.value.memory },
            each.value.gpu_count > 0 ? { "nvidia.com/gpu" = tostring(each.value.gpu_count) } : {},
          )
        }
        dynamic "env" {
          # WFX_PROFILE tells the operator's code where it runs
          for_each = merge(local.job_plain_env, { WFX_PROFILE = each.key })
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

# The functions run and cancel executions of every profile's job, as of the default one.
resource "google_cloud_run_v2_job_iam_member" "profile_runtime_developer" {
  for_each = google_cloud_run_v2_job.profile
  project  = var.project_id
  location = each.value.location
  name     = each.value.name
  role     = "roles/run.developer"
  member   = local.runtime
}
