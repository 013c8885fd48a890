# The three Cloud Functions (2nd gen) share one source zip and one runtime service account.
# References run one way only: mcp -> worker, events -> worker, subscriptions -> events.

locals {
  source_root = coalesce(var.source_dir, abspath("${path.module}/.."))
  # The zip is staged from two trees: functions_dir at its root (main.py and friends) and the
  # library under its package name, so `import workflow_executor` works in the function.
  fn_dir       = "${local.source_root}/${var.function_source.functions_dir}"
  lib_dir      = "${local.source_root}/${var.function_source.library_dir}"
  lib_package  = basename(var.function_source.library_dir)
  fn_files     = setsubtract(local.fn_included, local.fn_excluded)
  lib_files    = setsubtract(local.lib_included, local.lib_excluded)
  fn_included  = toset(flatten([for g in var.function_source.include : fileset(local.fn_dir, g)]))
  fn_excluded  = toset(flatten([for g in var.function_source.exclude : fileset(local.fn_dir, g)]))
  lib_included = toset(flatten([for g in var.function_source.include : fileset(local.lib_dir, g)]))
  lib_excluded = toset(flatten([for g in var.function_source.exclude : fileset(local.lib_dir, g)]))
  # The operator's own code (operator_code.py): its modules under operator_code/, which
  # WFX_OPERATOR_CODE puts on the import path, and its requirements in requirements.txt.
  op_dir   = "${local.source_root}/${var.function_source.operator_dir}"
  op_files = setsubtract(fileset(local.op_dir, "**"), toset(flatten([for g in var.function_source.exclude : fileset(local.op_dir, g)])))
  op_requirements = (
    fileexists("${local.op_dir}/requirements.txt")
    ? [for line in split("\n", file("${local.op_dir}/requirements.txt")) : trimspace(line) if trimspace(line) != "" && !startswith(trimspace(line), "#")]
    : []
  )
  source_files = merge(
    { for f in local.fn_files : f => "${local.fn_dir}/${f}" },
    { for f in local.lib_files : "${local.lib_package}/${f}" => "${local.lib_dir}/${f}" },
    { for f in local.op_files : "operator_code/${f}" => "${local.op_dir}/${f}" },
  )
  # A requirements.txt in functions_dir wins over the generated one.
  generated_requirements = (
    contains(keys(local.source_files), "requirements.txt")
    ? []
    : [join("\n", concat(var.function_source.requirements, local.op_requirements, [""]))]
  )

  # What agents' tools may reach (pubsub.tf, secrets.tf, bigquery.tf): names and secret ids,
  # never a credential. Unused tools set nothing, so they stay closed.
  tool_env = { for k, v in {
    WFX_BQ_DATASETS          = join(",", var.bigquery_vector_search.datasets)
    WFX_BQ_LOCATION          = var.bigquery_vector_search.location == null ? "" : var.bigquery_vector_search.location
    WFX_BQ_PROJECT           = length(var.bigquery_vector_search.datasets) > 0 ? local.bq_project : ""
    WFX_GITHUB_TOKEN_SECRET  = try(google_secret_manager_secret.tools["github_token"].id, "")
    WFX_MQ_SUBSCRIPTIONS     = join(",", [for name, topic in var.message_queue.subscriptions : "${name}=${topic}"])
    WFX_MQ_TOPICS            = join(",", var.message_queue.topics)
    WFX_SQL_DATABASES_SECRET = try(google_secret_manager_secret.tools["sql_databases"].id, "")
  } : k => v if v != "" }

  base_env = merge(var.env, local.tool_env, {
    WFX_API_KEYS_SECRET       = google_secret_manager_secret.api_keys.id
    WFX_EVENTS                = "pubsub"
    WFX_EVENTS_TOPIC          = google_pubsub_topic.events.id
    WFX_FIRESTORE_DATABASE    = local.firestore_database
    WFX_GCP_PROJECT           = var.project_id
    WFX_OPERATOR_CODE         = "operator_code"
    WFX_QUEUE                 = "cloud_tasks"
    WFX_STORE                 = "firestore"
    WFX_SWEEP_QUEUED_AFTER_S  = tostring(var.sweeper.queued_after_seconds)
    WFX_TASKS_QUEUE           = google_cloud_tasks_queue.executions.id
    WFX_TASKS_SERVICE_ACCOUNT = google_service_account.tasks.email
    WFX_TRIGGER_TOPIC_PREFIX  = "${var.prefix}-"
  })
  job_env = !local.job_enabled ? {} : {
    WFX_JOBS    = "cloud_run"
    WFX_RUN_JOB = google_cloud_run_v2_job.isolated[0].id
  }
  function_env = merge(local.base_env, local.job_env, local.profiles_env)
  # A function cannot read its own URL, and the job cannot reference the worker (the worker
  # references the job), so those two use Cloud Run's deterministic URL of the worker service.
  # The mcp and events functions read the worker's own service_config.uri instead.
  worker_deterministic_url = "https://${local.names.worker}-${local.project_number}.${var.region}.run.app"
}

data "archive_file" "function_source" {
  type        = "zip"
  output_path = "${path.module}/.build/${var.prefix}-function-source.zip"
  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.key
      content  = file(source.value)
    }
  }
  dynamic "source" {
    for_each = local.generated_requirements
    content {
      filename = "requirements.txt"
      content  = source.value
    }
  }
}

resource "google_storage_bucket" "function_source" {
  project                     = var.project_id
  name                        = local.names.bucket
  location                    = var.region
  labels                      = var.labels
  force_destroy               = true
  public_access_prevention    = "enforced"
  uniform_bucket_level_access = true
  depends_on                  = [google_project_service.services]
}

resource "google_storage_bucket_object" "function_source" {
  # The content hash in the name makes a source change redeploy all three functions.
  name   = "${var.prefix}-source-${data.archive_file.function_source.output_md5}.zip"
  bucket = google_storage_bucket.function_source.name
  source = data.archive_file.function_source.output_path
}

resource "google_cloudfunctions2_function" "worker" {
  project     = var.project_id
  location    = var.region
  name        = local.names.worker
  description = "Workflow Executor worker: runs async executions delivered by Cloud Tasks."
  labels      = var.labels
  build_config {
    runtime         = "python311"
    entry_point     = "worker"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }
  service_config {
    all_traffic_on_latest_revision   = true
    available_cpu                    = var.functions.worker.cpu
    available_memory                 = var.functions.worker.memory
    environment_variables            = merge(local.function_env, { WFX_WORKER_URL = local.worker_deterministic_url })
    ingress_settings                 = var.functions.worker.ingress
    max_instance_count               = var.functions.worker.max_instances
    max_instance_request_concurrency = var.worker_concurrency
    min_instance_count               = var.functions.worker.min_instances
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.functions.worker.timeout_seconds
    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }
  depends_on = [
    google_project_iam_member.build,
    google_project_service.services,
    google_secret_manager_secret_iam_member.secret_env,
  ]
}

resource "google_cloudfunctions2_function" "mcp" {
  project     = var.project_id
  location    = var.region
  name        = local.names.mcp
  description = "Workflow Executor MCP endpoint (JSON-RPC over HTTP)."
  labels      = var.labels
  build_config {
    runtime         = "python311"
    entry_point     = "mcp"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }
  service_config {
    all_traffic_on_latest_revision = true
    available_cpu                  = var.functions.mcp.cpu
    available_memory               = var.functions.mcp.memory
    environment_variables = merge(local.function_env, {
      WFX_WORKER_URL = google_cloudfunctions2_function.worker.service_config[0].uri
      # a sync run must answer before the platform cuts the request (mcpremote resends a 504)
      WFX_SYNC_MAX_S = tostring(var.functions.mcp.timeout_seconds - 30)
    })
    ingress_settings                 = var.functions.mcp.ingress
    max_instance_count               = var.functions.mcp.max_instances
    max_instance_request_concurrency = var.functions.mcp.concurrency
    min_instance_count               = var.functions.mcp.min_instances
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.functions.mcp.timeout_seconds
    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }
  depends_on = [
    google_project_iam_member.build,
    google_project_service.services,
    google_secret_manager_secret_iam_member.secret_env,
  ]
}

# Deployed without an Eventarc trigger on purpose: push subscriptions (pubsub.tf) deliver
# the events topic and every trigger topic, which lets us set ordering, backoff and a
# dead-letter topic. functions-framework turns a raw push body into a CloudEvent.
resource "google_cloudfunctions2_function" "events" {
  project     = var.project_id
  location    = var.region
  name        = local.names.events
  description = "Workflow Executor events: projections, event-triggered workflows, parent resumes."
  labels      = var.labels
  build_config {
    runtime         = "python311"
    entry_point     = "events"
    service_account = google_service_account.build.id
    environment_variables = {
      GOOGLE_FUNCTION_SIGNATURE_TYPE = "cloudevent"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }
  service_config {
    all_traffic_on_latest_revision = true
    available_cpu                  = var.functions.events.cpu
    available_memory               = var.functions.events.memory
    environment_variables = merge(local.function_env, {
      WFX_WORKER_URL = google_cloudfunctions2_function.worker.service_config[0].uri
    })
    ingress_settings                 = var.functions.events.ingress
    max_instance_count               = var.functions.events.max_instances
    max_instance_request_concurrency = var.functions.events.concurrency
    min_instance_count               = var.functions.events.min_instances
    service_account_email            = google_service_account.runtime.email
    timeout_seconds                  = var.functions.events.timeout_seconds
    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }
  depends_on = [
    google_project_iam_member.build,
    google_project_service.services,
    google_secret_manager_secret_iam_member.secret_env,
  ]
}
