# The queue behind async mode. The app names each task after its execution, so a retried
# request cannot enqueue the same execution twice; retries here redeliver to the worker,
# which resumes from the last checkpoint.

resource "google_cloud_tasks_queue" "executions" {
  project  = var.project_id
  location = var.region
  name     = local.names.queue
  rate_limits {
    max_concurrent_dispatches = var.queue.max_concurrent_dispatches
    max_dispatches_per_second = var.queue.max_dispatches_per_second
  }
  retry_config {
    max_attempts       = var.queue.max_attempts
    max_backoff        = var.queue.max_backoff
    max_doublings      = var.queue.max_doublings
    max_retry_duration = var.queue.max_retry_duration
    min_backoff        = var.queue.min_backoff
  }
  depends_on = [google_project_service.services]
}
