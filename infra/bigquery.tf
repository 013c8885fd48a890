# bigquery_vector_search reads existing embedding tables (var.bigquery_vector_search): the tool
# accounts may read exactly the listed datasets (or single tables) and run query jobs in their
# project. Nothing here creates or writes a dataset.

locals {
  bq_entries = { for d in var.bigquery_vector_search.datasets : d => split(".", d) }
  bq_grants = {
    for pair in setproduct(keys(local.tool_members), keys(local.bq_entries)) : join("/", pair) => {
      member  = local.tool_members[pair[0]]
      dataset = local.bq_entries[pair[1]][0]
      table   = try(local.bq_entries[pair[1]][1], null)
    }
  }
}

resource "google_bigquery_dataset_iam_member" "vector_search" {
  for_each   = { for key, grant in local.bq_grants : key => grant if grant.table == null }
  project    = local.bq_project
  dataset_id = each.value.dataset
  role       = "roles/bigquery.dataViewer"
  member     = each.value.member
}

resource "google_bigquery_table_iam_member" "vector_search" {
  for_each   = { for key, grant in local.bq_grants : key => grant if grant.table != null }
  project    = local.bq_project
  dataset_id = each.value.dataset
  table_id   = each.value.table
  role       = "roles/bigquery.dataViewer"
  member     = each.value.member
}

# A vector search is a query job, billed to and run in the datasets' project.
resource "google_project_iam_member" "vector_search_job_user" {
  for_each = length(var.bigquery_vector_search.datasets) > 0 ? local.tool_members : {}
  project  = local.bq_project
  role     = "roles/bigquery.jobUser"
  member   = each.value
}
