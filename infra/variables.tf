# Variables are sorted alphabetically; object attributes carry their defaults via optional().

variable "allow_unauthenticated" {
  description = "Access model of the MCP function. true: API keys through the public URL (allUsers run.invoker; the app refuses calls without a valid key), what LangSwarm mcpremote needs. false: Google IAM in front, only mcp_invokers may call it with an identity token (plus an API key). The worker and events functions are never public."
  type        = bool
  default     = false
  nullable    = false
}

variable "api_keys_secret" {
  description = "Secret Manager secret id (prefixed) that holds the hashed API keys. Only the secret is created here; add versions out of band, never from this repository."
  type        = string
  default     = "api-keys"
  nullable    = false
}

variable "bigquery_vector_search" {
  description = "What the bigquery_vector_search tool may search (WFX_BQ_DATASETS): existing datasets, each as dataset or dataset.table, in project (null: project_id; WFX_BQ_PROJECT) at location (WFX_BQ_LOCATION). The runtime and job accounts get roles/bigquery.dataViewer on exactly those datasets and roles/bigquery.jobUser on that project. No datasets: the tool keeps its embedded index."
  type = object({
    datasets = optional(list(string), [])
    location = optional(string)
    project  = optional(string)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for d in var.bigquery_vector_search.datasets : can(regex("^[A-Za-z0-9_]{1,1024}(\\.[A-Za-z0-9_-]{1,1024})?$", d))])
    error_message = "bigquery_vector_search.datasets entries are dataset or dataset.table (no project: that is bigquery_vector_search.project)."
  }
}

variable "deletion_protection" {
  description = "Protect the Firestore database and the Cloud Run job from deletion. Set true in production."
  type        = bool
  default     = false
  nullable    = false
}

variable "env" {
  description = "Extra plain environment variables for the functions and the job (never secrets: use secret_env). The WFX_* variables computed by this module take precedence."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "events_subscription" {
  description = "Delivery of the events and trigger topics to the events function: push subscriptions with ordering, backoff and a dead-letter topic."
  type = object({
    ack_deadline_seconds  = optional(number, 600)
    max_delivery_attempts = optional(number, 10)
    maximum_backoff       = optional(string, "600s")
    message_ordering      = optional(bool, true)
    minimum_backoff       = optional(string, "10s")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.events_subscription.max_delivery_attempts >= 5 && var.events_subscription.max_delivery_attempts <= 100
    error_message = "events_subscription.max_delivery_attempts must be between 5 and 100 (Pub/Sub dead-letter limits)."
  }
}

variable "events_topic" {
  description = "Name (prefixed) of the Pub/Sub topic the engine publishes execution.* and step.* events to."
  type        = string
  default     = "events"
  nullable    = false
}

variable "firestore" {
  description = "Firestore database for executions and workflows. Set create = false to use an existing database named by database. ttl_field must match the field the app writes."
  type = object({
    create    = optional(bool, true)
    database  = optional(string)
    location  = optional(string)
    ttl_field = optional(string, "expire_at")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.firestore.create || var.firestore.database != null
    error_message = "firestore.database must name the existing database when firestore.create is false."
  }
}

variable "function_source" {
  description = "How the function zip is staged from source_dir: files of functions_dir at the root, the library package under its own name, the operator's folder (operator_dir) as operator_code/, and a generated requirements.txt (plus the operator's requirements.txt) when functions_dir has none."
  type = object({
    exclude       = optional(list(string), ["job/**", "tests/**"])
    functions_dir = optional(string, "functions")
    include       = optional(list(string), ["**/*.py", "**/*.json", "**/*.txt", "**/*.yaml", "**/*.yml"])
    library_dir   = optional(string, "shared/workflow_executor")
    # the operator's own functions and tools (README, Your own code), zipped as operator_code/
    operator_dir = optional(string, "operator_code")
    requirements = optional(list(string), [
      "functions-framework>=3.5",
      "google-cloud-bigquery>=3.20",
      "google-cloud-firestore>=2.16",
      "google-cloud-pubsub>=2.21",
      "google-cloud-run>=0.10",
      "google-cloud-secret-manager>=2.20",
      "google-cloud-tasks>=2.16",
      "grpcio>=1.60",
      "jsonschema>=4.18",
      "openai>=1.30",
      "pydantic>=2.6",
      "pyyaml>=6",
      "requests>=2.31",
      "rich>=13",
      "sqlalchemy>=2.0",
    ])
  })
  default  = {}
  nullable = false
}

variable "functions" {
  description = "Sizing and ingress of the mcp, worker and events functions. Request concurrency above 1 needs cpu >= 1. The worker's concurrency is worker_concurrency."
  type = object({
    events = optional(object({
      concurrency     = optional(number, 10)
      cpu             = optional(string, "1")
      ingress         = optional(string, "ALLOW_INTERNAL_ONLY")
      max_instances   = optional(number, 10)
      memory          = optional(string, "512Mi")
      min_instances   = optional(number, 0)
      timeout_seconds = optional(number, 540)
    }), {})
    mcp = optional(object({
      concurrency     = optional(number, 20)
      cpu             = optional(string, "1")
      ingress         = optional(string, "ALLOW_ALL")
      max_instances   = optional(number, 10)
      memory          = optional(string, "512Mi")
      min_instances   = optional(number, 0)
      timeout_seconds = optional(number, 600)
    }), {})
    worker = optional(object({
      cpu             = optional(string, "1")
      ingress         = optional(string, "ALLOW_INTERNAL_ONLY")
      max_instances   = optional(number, 20)
      memory          = optional(string, "1Gi")
      min_instances   = optional(number, 0)
      timeout_seconds = optional(number, 1800)
    }), {})
  })
  default  = {}
  nullable = false
}

variable "image_retention" {
  description = "How many recent versions of each image the Artifact Registry repository keeps (older ones are deleted after 30 days)."
  type        = number
  default     = 5
  nullable    = false
}

variable "job" {
  description = "Cloud Run job for isolated mode, created when enabled (after `make image` pushed its image) or when image is set. image null means the image `make image` pushes to this deployment's Artifact Registry repository, at tag. Without a job, isolated mode stays unavailable and WFX_JOBS is not set."
  type = object({
    cpu         = optional(string, "1")
    enabled     = optional(bool, false)
    image       = optional(string)
    max_retries = optional(number, 1)
    memory      = optional(string, "1Gi")
    tag         = optional(string, "latest")
    timeout     = optional(string, "3600s")
  })
  default  = {}
  nullable = false
}

variable "labels" {
  description = "Labels added to every resource that supports them."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "mcp_invokers" {
  description = "IAM members (user:, group:, serviceAccount:) allowed to invoke the MCP function when allow_unauthenticated is false."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "message_queue" {
  description = "What the message queue tools may reach, as short names prefixed like trigger_topics: topics message_queue_publisher may publish to (WFX_MQ_TOPICS) and pull subscriptions (name => topic) message_queue_consumer may read (WFX_MQ_SUBSCRIPTIONS). Topics that are not trigger_topics are created, and so is each subscription, on one of these topics or a trigger topic. The runtime and job accounts get roles/pubsub.publisher on exactly these topics and roles/pubsub.subscriber on exactly these subscriptions. Publishing to a trigger topic starts the workflows it triggers."
  type = object({
    subscriptions = optional(map(string), {})
    topics        = optional(list(string), [])
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for n in concat(var.message_queue.topics, keys(var.message_queue.subscriptions), values(var.message_queue.subscriptions)) : can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{0,200}$", n))])
    error_message = "message_queue topics and subscriptions are short names (a letter, then letters, digits, . _ - ~ + %); the prefix and project are added here."
  }
}

variable "prefix" {
  description = "Prefix of every resource name, so that several deployments can share a project. Lowercase letters, digits and hyphens, at most 12 characters."
  type        = string
  default     = "wfx"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?$", var.prefix))
    error_message = "prefix must start with a lowercase letter, end with a letter or digit, use only [a-z0-9-] and be at most 12 characters."
  }
}

variable "profiles" {
  description = "Execution profiles a run picks with target_instance: one Cloud Run job each (run_job_profiles.tf), in region (default var.region) with cpu, memory, gpu_type + gpu_count (e.g. nvidia-l4, 1), timeout_seconds and max_retries; fallback names the profile a run resumes on, once, when the infrastructure killed its job (memory, quota, region). max_parallel is enforced by `wfx serve` only. Needs the job (var.job.enabled or an image)."
  type = map(object({
    cpu             = optional(string, "1")
    fallback        = optional(string)
    gpu_count       = optional(number, 0)
    gpu_type        = optional(string)
    max_parallel    = optional(number)
    max_retries     = optional(number, 1)
    memory          = optional(string, "1Gi")
    region          = optional(string)
    timeout_seconds = optional(number, 3600)
  }))
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for name, p in var.profiles : can(regex("^[a-z][a-z0-9-]{0,20}$", name))])
    error_message = "Profile names are lowercase letters, digits and hyphens, at most 21 characters (they end the job's name)."
  }
  validation {
    condition     = alltrue([for name, p in var.profiles : p.fallback == null || (contains(keys(var.profiles), coalesce(p.fallback, "-")) && p.fallback != name)])
    error_message = "A profile's fallback must name another profile."
  }
  validation {
    condition     = alltrue([for p in values(var.profiles) : p.gpu_count == 0 || p.gpu_type != null])
    error_message = "A profile with gpu_count > 0 needs its gpu_type (e.g. nvidia-l4)."
  }
}

variable "project_id" {
  description = "Project to deploy into."
  type        = string
}

variable "queue" {
  description = "Cloud Tasks queue that feeds the worker: retry (max_attempts -1 means unlimited) and rate limits. A deleted queue name cannot be reused for 7 days."
  type = object({
    max_attempts              = optional(number, 20)
    max_backoff               = optional(string, "600s")
    max_concurrent_dispatches = optional(number, 50)
    max_dispatches_per_second = optional(number, 20)
    max_doublings             = optional(number, 5)
    max_retry_duration        = optional(string, "86400s")
    min_backoff               = optional(string, "5s")
    name                      = optional(string, "executions")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.queue.max_attempts >= -1
    error_message = "queue.max_attempts must be -1 (unlimited) or a positive number."
  }
}

variable "region" {
  description = "Region of the functions, queue and job (and of Firestore unless firestore.location is set)."
  type        = string
  default     = "us-central1"
  nullable    = false
}

variable "schedules" {
  description = "Cloud Scheduler jobs by name: each publishes data (a JSON text) with attributes to the trigger topic named by topic (created like trigger_topics) on cron (unix-cron, 5 fields) in time_zone. A workflow whose triggers name that topic starts once per firing."
  type = map(object({
    attributes = optional(map(string), {})
    cron       = string
    data       = optional(string, "{}")
    time_zone  = optional(string, "Etc/UTC")
    topic      = string
  }))
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for s in values(var.schedules) : length(split(" ", trimspace(s.cron))) == 5 && can(jsondecode(s.data))])
    error_message = "each schedule needs a 5-field unix-cron expression (minute hour day month weekday) and data that is JSON text."
  }
}

variable "secret_env" {
  description = "Environment variables read from existing Secret Manager secrets in this project (latest version), as ENV_NAME => secret id, e.g. OPENAI_API_KEY => openai-api-key."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "source_dir" {
  description = "Repository root that holds function_source.functions_dir and function_source.library_dir; null means the parent directory of this module."
  type        = string
  default     = null
}

variable "sweeper" {
  description = "The sweeper job (Cloud Scheduler -> worker /sweep): its unix-cron schedule, its deadline, and how long a run may sit queued (or running after handing its lease back) with no task before it is queued again. Runs whose lease lapsed are queued again at the next tick."
  type = object({
    attempt_deadline_seconds = optional(number, 180)
    queued_after_seconds     = optional(number, 120)
    schedule                 = optional(string, "* * * * *")
  })
  default  = {}
  nullable = false
  validation {
    condition     = length(split(" ", trimspace(var.sweeper.schedule))) == 5 && var.sweeper.queued_after_seconds >= 30
    error_message = "sweeper.schedule must be a 5-field unix-cron expression and sweeper.queued_after_seconds at least 30."
  }
}

variable "tool_secrets" {
  description = "Secret Manager secrets (ids, prefixed) created for the data tools, without a version (add it out of band, never from this repository): github_token holds the GitHub token (WFX_GITHUB_TOKEN_SECRET), sql_databases the name=SQLAlchemy URL list (WFX_SQL_DATABASES_SECRET). null: not created. The runtime and job accounts may read them."
  type = object({
    github_token  = optional(string)
    sql_databases = optional(string)
  })
  default  = {}
  nullable = false
}

variable "trigger_topics" {
  description = "Names (prefixed) of extra Pub/Sub topics whose messages may start workflows; each is delivered to the events function."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "worker_concurrency" {
  description = "Requests one worker instance serves at once (each runs one execution slice). Above 1 needs functions.worker.cpu >= 1."
  type        = number
  default     = 4
  nullable    = false
  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 1000
    error_message = "worker_concurrency must be between 1 and 1000."
  }
}
