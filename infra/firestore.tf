# Firestore holds executions and workflows. Finished executions carry an expiry timestamp
# that the TTL policy deletes; the composite indexes serve list_executions filters.

locals {
  # Each index ends with created_at_s DESCENDING: listings are newest first.
  execution_indexes = {
    principal = [
      { field_path = "principal", order = "ASCENDING" },
      { field_path = "created_at_s", order = "DESCENDING" },
    ]
    principal_status = [
      { field_path = "principal", order = "ASCENDING" },
      { field_path = "status", order = "ASCENDING" },
      { field_path = "created_at_s", order = "DESCENDING" },
    ]
    status = [
      { field_path = "status", order = "ASCENDING" },
      { field_path = "created_at_s", order = "DESCENDING" },
    ]
    workflow_name = [
      { field_path = "workflow_name", order = "ASCENDING" },
      { field_path = "created_at_s", order = "DESCENDING" },
    ]
  }
}

resource "google_firestore_database" "store" {
  count                       = var.firestore.create ? 1 : 0
  project                     = var.project_id
  name                        = local.names.firestore
  location_id                 = coalesce(var.firestore.location, var.region)
  type                        = "FIRESTORE_NATIVE"
  app_engine_integration_mode = "DISABLED"
  delete_protection_state     = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy             = var.deletion_protection ? "ABANDON" : "DELETE"
  depends_on                  = [google_project_service.services]
}

resource "google_firestore_field" "executions_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = local.executions_collection
  field      = var.firestore.ttl_field
  ttl_config {}
  # No single-field indexes on the TTL timestamp: it is never queried, and a monotonically
  # growing indexed value would create a write hotspot.
  index_config {}
}

resource "google_firestore_index" "executions" {
  for_each    = local.execution_indexes
  project     = var.project_id
  database    = local.firestore_database
  collection  = local.executions_collection
  query_scope = "COLLECTION"
  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

# The executions list's search (adapters/firestore_reads.py): an id prefix by the id's first four
# characters (id_head), error text by one word of the error (error_words, array-contains), each
# alone or under the caller's principal; the store checks status and workflow on what it reads.
locals {
  execution_search_indexes = {
    id_head = [
      { field_path = "id_head", order = "ASCENDING", array_config = null },
      { field_path = "created_at_s", order = "DESCENDING", array_config = null },
    ]
    principal_id_head = [
      { field_path = "principal", order = "ASCENDING", array_config = null },
      { field_path = "id_head", order = "ASCENDING", array_config = null },
      { field_path = "created_at_s", order = "DESCENDING", array_config = null },
    ]
    error_words = [
      { field_path = "error_words", order = null, array_config = "CONTAINS" },
      { field_path = "created_at_s", order = "DESCENDING", array_config = null },
    ]
    principal_error_words = [
      { field_path = "principal", order = "ASCENDING", array_config = null },
      { field_path = "error_words", order = null, array_config = "CONTAINS" },
      { field_path = "created_at_s", order = "DESCENDING", array_config = null },
    ]
  }
}

resource "google_firestore_index" "execution_search" {
  for_each    = local.execution_search_indexes
  project     = var.project_id
  database    = local.firestore_database
  collection  = local.executions_collection
  query_scope = "COLLECTION"
  dynamic "fields" {
    for_each = each.value
    content {
      field_path   = fields.value.field_path
      order        = fields.value.order
      array_config = fields.value.array_config
    }
  }
}

# The store writes expire_at on more than executions: checkpoints (collection group "steps"),
# idempotency keys and the events function's status views. Each needs its own TTL policy.
resource "google_firestore_field" "ttl" {
  for_each   = toset(["steps", "idempotency", "execution_views"])
  project    = var.project_id
  database   = local.firestore_database
  collection = each.value
  field      = var.firestore.ttl_field
  ttl_config {}
  index_config {}
}

# Large JSON text fields are never queried: exempt them from indexing (every indexed field
# costs index writes, and long strings only bloat the index).
resource "google_firestore_field" "unindexed" {
  for_each = {
    executions_data     = { collection = "executions", field = "data" }
    executions_progress = { collection = "executions", field = "progress" }
    steps_data          = { collection = "steps", field = "data" }
    versions_document   = { collection = "versions", field = "document" }
    versions_source     = { collection = "versions", field = "source_text" }
    workflows_source    = { collection = "workflows", field = "source_text" }
  }
  project    = var.project_id
  database   = local.firestore_database
  collection = each.value.collection
  field      = each.value.field
  index_config {}
}
