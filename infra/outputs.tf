output "api_keys_secret" {
  description = "Secret Manager secret that holds the hashed API keys; add a version with the keys file."
  value       = google_secret_manager_secret.api_keys.id
}

output "dead_letter_topic_id" {
  description = "Topic that receives event messages the events function kept failing on."
  value       = google_pubsub_topic.dead_letter.id
}

output "events_topic_id" {
  description = "Topic the engine publishes execution and step events to."
  value       = google_pubsub_topic.events.id
}

output "firestore_database" {
  description = "Firestore database that holds executions and workflows."
  value       = local.firestore_database
}

output "mcp_url" {
  description = "URL of the MCP function: point MCP clients and LangSwarm mcpremote here."
  value       = google_cloudfunctions2_function.mcp.service_config[0].uri
}

output "mcpremote_snippet" {
  description = "LangSwarm mcpremote tool definition for this deployment (the API-key access model: allow_unauthenticated = true). Export WFX_API_KEY before the agent starts: mcpremote replaces a header value only when it is exactly \"$${VAR}\"."
  value       = <<-EOT
    tools:
      - id: workflow_executor
        type: mcpremote
        description: Run, generate, watch and cancel workflows
        mcp_url: ${google_cloudfunctions2_function.mcp.service_config[0].uri}
        headers:
          X-API-Key: "$${WFX_API_KEY}"
        timeout: ${var.functions.mcp.timeout_seconds}
        retry_count: 3
  EOT
}

output "queue_id" {
  description = "Cloud Tasks queue that feeds the worker."
  value       = google_cloud_tasks_queue.executions.id
}

output "job_image_repository" {
  description = "Where `make image` pushes the isolated-mode job image (tag it with TAG, default latest)."
  value       = local.job_image_repository
}

output "project_id" {
  description = "Project of this deployment (`make image` builds there)."
  value       = var.project_id
}

output "run_job" {
  description = "Cloud Run job for isolated mode, or null while job.enabled is false and job.image is not set."
  value       = local.job_enabled ? google_cloud_run_v2_job.isolated[0].id : null
}

output "schedules" {
  description = "Cloud Scheduler jobs by schedule name."
  value       = { for name, job in google_cloud_scheduler_job.schedules : name => job.id }
}

output "service_accounts" {
  description = "Service account emails by role."
  value = {
    build       = google_service_account.build.email
    events_push = google_service_account.events_push.email
    job         = google_service_account.job.email
    runtime     = google_service_account.runtime.email
    tasks       = google_service_account.tasks.email
  }
}

output "trigger_topic_ids" {
  description = "Topics whose messages may start event-triggered workflows, by name."
  value       = { for name, topic in google_pubsub_topic.triggers : name => topic.id }
}

output "worker_url" {
  description = "URL of the worker function (private: only the tasks service account may invoke it)."
  value       = google_cloudfunctions2_function.worker.service_config[0].uri
}
