# Schedules: one Cloud Scheduler job per entry of var.schedules. Each publishes its data and
# attributes (plus schedule = <name>) to a trigger topic; the events function starts the
# workflows whose triggers name that topic, once per message. No key or invoker is involved:
# Cloud Scheduler's service agent publishes to the topic.

resource "google_cloud_scheduler_job" "schedules" {
  for_each    = var.schedules
  project     = var.project_id
  region      = var.region
  name        = "${var.prefix}-${each.key}"
  description = "Workflow Executor schedule ${each.key}: publishes to trigger topic ${each.value.topic}."
  schedule    = each.value.cron
  time_zone   = each.value.time_zone
  pubsub_target {
    topic_name = google_pubsub_topic.triggers[each.value.topic].id
    data       = base64encode(each.value.data)
    attributes = merge(each.value.attributes, { schedule = each.key })
  }
  retry_config {
    retry_count = 3
  }
  depends_on = [google_project_service.services]
}
