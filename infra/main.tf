/**
 * Workflow Executor on Google Cloud: three Cloud Functions (mcp, worker, events), a Cloud
 * Tasks queue, a Cloud Run job for isolated runs, Pub/Sub topics, Firestore and IAM.
 * Every name derives from var.prefix, so several deployments can share one project.
 */

locals {
  # The collection the app keeps executions in; its TTL field and indexes live in firestore.tf.
  executions_collection = "executions"
  firestore_database = (
    var.firestore.create
    ? google_firestore_database.store[0].name
    : local.names.firestore
  )
  names = {
    api_keys    = "${var.prefix}-${var.api_keys_secret}"
    bucket      = "${var.project_id}-${var.prefix}-fn-source"
    build_sa    = "${var.prefix}-build"
    dead_letter = "${var.prefix}-${var.events_topic}-dead-letter"
    events      = "${var.prefix}-events"
    events_sa   = "${var.prefix}-push"
    firestore   = coalesce(var.firestore.database, "${var.prefix}-db")
    images      = "${var.prefix}-images"
    job         = "${var.prefix}-isolated"
    job_sa      = "${var.prefix}-job"
    mcp         = "${var.prefix}-mcp"
    queue       = "${var.prefix}-${var.queue.name}"
    runtime_sa  = "${var.prefix}-runtime"
    tasks_sa    = "${var.prefix}-tasks"
    topic       = "${var.prefix}-${var.events_topic}"
    worker      = "${var.prefix}-worker"
  }
  project_number = data.google_project.project.number
  # The accounts that run agents' tools: the functions (sync and async runs) and the isolated job.
  tool_members = {
    job     = "serviceAccount:${google_service_account.job.email}"
    runtime = local.runtime
  }
  tool_secret_ids = { for name, id in var.tool_secrets : name => id if id != null }
  bq_project      = coalesce(var.bigquery_vector_search.project, var.project_id)
  # Isolated mode: the job exists once its image does (job.enabled after `make image`, or an image of your own).
  job_enabled          = var.job.enabled || var.job.image != null
  job_image_repository = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/job"
  job_image            = coalesce(var.job.image, "${local.job_image_repository}:${var.job.tag}")
  services = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
}

data "google_project" "project" {
  project_id = var.project_id
}

resource "google_project_service" "services" {
  for_each           = toset(local.services)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# The Pub/Sub service agent delivers dead letters and signs push OIDC tokens.
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.services]
}
