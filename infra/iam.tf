# Five service accounts, each with the least it needs:
#   runtime      runs the three functions (store, events, queue, job, secrets)
#   job          runs the isolated-mode job: store, events, secret_env secrets; no queue, no API keys
#   tasks        identity of Cloud Tasks' OIDC tokens; the only invoker of the worker
#   events_push  identity of Pub/Sub push OIDC tokens; the only invoker of the events function
#   build        Cloud Build identity that turns the source zip into function images

locals {
  pubsub_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
  runtime      = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = local.names.runtime_sa
  display_name = "Workflow Executor runtime (functions and job)"
}

resource "google_service_account" "job" {
  project      = var.project_id
  account_id   = local.names.job_sa
  display_name = "Workflow Executor isolated-mode job"
}

resource "google_service_account" "tasks" {
  project      = var.project_id
  account_id   = local.names.tasks_sa
  display_name = "Workflow Executor Cloud Tasks invoker of the worker"
}

resource "google_service_account" "events_push" {
  project      = var.project_id
  account_id   = local.names.events_sa
  display_name = "Workflow Executor Pub/Sub push invoker of the events function"
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = local.names.build_sa
  display_name = "Workflow Executor function builds"
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/cloudbuild.builds.builder"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.build.email}"
}

# Firestore IAM exists only at project level.
resource "google_project_iam_member" "runtime" {
  for_each = toset(["roles/datastore.user"])
  project  = var.project_id
  role     = each.value
  member   = local.runtime
}

# The job reads and checkpoints its execution and publishes its events; nothing else.
resource "google_project_iam_member" "job" {
  for_each = toset(["roles/datastore.user"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.job.email}"
}

resource "google_pubsub_topic_iam_member" "job_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.job.email}"
}

resource "google_secret_manager_secret_iam_member" "job_secret_env" {
  for_each  = toset(values(var.secret_env))
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.job.email}"
}

# Cloud Build (make image) pushes the job image as the build account.
resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_pubsub_topic_iam_member" "runtime_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = local.runtime
}

# Enqueue executions, and delete a queued task when its execution is cancelled.
resource "google_cloud_tasks_queue_iam_member" "runtime" {
  for_each = toset(["roles/cloudtasks.enqueuer", "roles/cloudtasks.taskDeleter"])
  project  = var.project_id
  location = google_cloud_tasks_queue.executions.location
  name     = google_cloud_tasks_queue.executions.name
  role     = each.value
  member   = local.runtime
}

# Creating a task with an OIDC token of the tasks account needs actAs on that account.
resource "google_service_account_iam_member" "runtime_acts_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = local.runtime
}

# Run job executions with overrides (the execution id) and cancel them.
resource "google_cloud_run_v2_job_iam_member" "runtime_developer" {
  count    = local.job_enabled ? 1 : 0
  project  = var.project_id
  location = google_cloud_run_v2_job.isolated[0].location
  name     = google_cloud_run_v2_job.isolated[0].name
  role     = "roles/run.developer"
  member   = local.runtime
}

resource "google_secret_manager_secret_iam_member" "runtime_api_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.api_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.runtime
}

resource "google_secret_manager_secret_iam_member" "secret_env" {
  for_each  = toset(values(var.secret_env))
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = local.runtime
}

# The worker is private: only the tasks account may invoke it.
resource "google_cloud_run_v2_service_iam_member" "worker_tasks_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.worker.location
  name     = google_cloudfunctions2_function.worker.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

resource "google_cloud_run_v2_service_iam_member" "events_push_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.events.location
  name     = google_cloudfunctions2_function.events.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.events_push.email}"
}

resource "google_cloud_run_v2_service_iam_member" "mcp_public" {
  count    = var.allow_unauthenticated ? 1 : 0
  project  = var.project_id
  location = google_cloudfunctions2_function.mcp.location
  name     = google_cloudfunctions2_function.mcp.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "mcp_invokers" {
  for_each = toset(var.mcp_invokers)
  project  = var.project_id
  location = google_cloudfunctions2_function.mcp.location
  name     = google_cloudfunctions2_function.mcp.name
  role     = "roles/run.invoker"
  member   = each.value
}

# Pub/Sub signs push OIDC tokens as events_push (needed on projects created before 2021).
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  service_account_id = google_service_account.events_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Dead-lettering needs the Pub/Sub agent to publish there and to ack the source messages.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = google_pubsub_subscription.to_events_function
  project      = var.project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The two access models (README): an API key through the public URL (allow_unauthenticated,
# what LangSwarm mcpremote needs), or Google identity tokens of mcp_invokers in front of the
# API key. With neither, nobody can reach the MCP function: say so at plan time.
check "mcp_is_reachable" {
  assert {
    condition     = var.allow_unauthenticated || length(var.mcp_invokers) > 0
    error_message = "Nobody can invoke the MCP function: set allow_unauthenticated = true (API keys through the public URL, what mcpremote needs) or list mcp_invokers (Google identity tokens)."
  }
}

# Agents' tools (message queue, data tools) run in the functions and in the job, so both accounts
# get exactly the topics, subscriptions and secrets the operator listed; nothing project-wide.
resource "google_pubsub_topic_iam_member" "mq_publisher" {
  for_each = { for pair in setproduct(keys(local.tool_members), var.message_queue.topics) : join("/", pair) => pair }
  project  = var.project_id
  topic    = local.mq_topics[each.value[1]].name
  role     = "roles/pubsub.publisher"
  member   = local.tool_members[each.value[0]]
}

resource "google_pubsub_subscription_iam_member" "mq_subscriber" {
  for_each     = { for pair in setproduct(keys(local.tool_members), keys(var.message_queue.subscriptions)) : join("/", pair) => pair }
  project      = var.project_id
  subscription = google_pubsub_subscription.queues[each.value[1]].name
  role         = "roles/pubsub.subscriber"
  member       = local.tool_members[each.value[0]]
}

resource "google_secret_manager_secret_iam_member" "tool_secrets" {
  for_each  = { for pair in setproduct(keys(local.tool_members), keys(local.tool_secret_ids)) : join("/", pair) => pair }
  project   = var.project_id
  secret_id = google_secret_manager_secret.tools[each.value[1]].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.tool_members[each.value[0]]
}
