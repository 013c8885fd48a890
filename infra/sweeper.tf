# The sweeper: Cloud Scheduler calls the worker's /sweep (with an OIDC token of the tasks
# account, the worker's only invoker) on var.sweeper.schedule. Each call re-queues every run
# whose lease lapsed (its worker or mcp instance died) or that sits queued with no task, and
# ends child runs whose parent already ended, so that no execution stays running for good.
# A failed call is not retried: the next tick is the retry.

resource "google_cloud_scheduler_job" "sweeper" {
  project          = var.project_id
  region           = var.region
  name             = "${var.prefix}-sweeper"
  description      = "Workflow Executor sweeper: hands runs whose runner died back to the queue."
  schedule         = var.sweeper.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.sweeper.attempt_deadline_seconds}s"
  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.worker.service_config[0].uri}/sweep"
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }
    oidc_token {
      service_account_email = google_service_account.tasks.email
      audience              = google_cloudfunctions2_function.worker.service_config[0].uri
    }
  }
  retry_config {
    retry_count = 0
  }
  depends_on = [google_project_service.services]
}
