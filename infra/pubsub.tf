# Events flow: the engine publishes to the events topic (ordering key = execution id); push
# subscriptions deliver it, and every trigger topic, to the events function with OIDC auth.
# Messages that keep failing go to the dead-letter topic, kept by a pull subscription.

locals {
  # Trigger topics: the listed ones and those the schedules publish to (scheduler.tf).
  trigger_topics = toset(concat(var.trigger_topics, [for s in values(var.schedules) : s.topic]))
  # Keys are known at plan time and name the subscriptions; values are topic ids.
  # The message queue tools' topics (var.message_queue): trigger topics are reused, the rest created.
  queue_topics = setsubtract(toset(var.message_queue.topics), local.trigger_topics)
  mq_topics = merge(
    { for name, topic in google_pubsub_topic.triggers : name => topic if contains(var.message_queue.topics, name) },
    google_pubsub_topic.queues,
  )
  push_sources = merge(
    { events = google_pubsub_topic.events.id },
    { for name, topic in google_pubsub_topic.triggers : "trigger-${name}" => topic.id },
  )
}

resource "google_pubsub_topic" "events" {
  project                    = var.project_id
  name                       = local.names.topic
  labels                     = var.labels
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.services]
}

resource "google_pubsub_topic" "dead_letter" {
  project    = var.project_id
  name       = local.names.dead_letter
  labels     = var.labels
  depends_on = [google_project_service.services]
}

resource "google_pubsub_topic" "triggers" {
  for_each   = local.trigger_topics
  project    = var.project_id
  name       = "${var.prefix}-${each.value}"
  labels     = var.labels
  depends_on = [google_project_service.services]
  lifecycle {
    precondition {
      condition     = each.value != var.events_topic
      error_message = "trigger_topics must not repeat events_topic (${var.events_topic})."
    }
  }
}

resource "google_pubsub_topic" "queues" {
  for_each   = local.queue_topics
  project    = var.project_id
  name       = "${var.prefix}-${each.value}"
  labels     = var.labels
  depends_on = [google_project_service.services]
  lifecycle {
    precondition {
      condition     = each.value != var.events_topic
      error_message = "message_queue.topics must not name events_topic (${var.events_topic}): documents never publish engine events."
    }
  }
}

# What message_queue_consumer pulls: one pull subscription per name, on a topic of this module.
resource "google_pubsub_subscription" "queues" {
  for_each                   = var.message_queue.subscriptions
  project                    = var.project_id
  name                       = "${var.prefix}-${each.key}"
  topic                      = try(merge(google_pubsub_topic.triggers, google_pubsub_topic.queues)[each.value].id, null)
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
  lifecycle {
    precondition {
      condition     = contains(concat(var.message_queue.topics, tolist(local.trigger_topics)), each.value)
      error_message = "message_queue.subscriptions.${each.key} reads topic ${each.value}, which is neither in message_queue.topics nor in trigger_topics."
    }
  }
}

resource "google_pubsub_subscription" "to_events_function" {
  for_each                = local.push_sources
  project                 = var.project_id
  name                    = "${var.prefix}-${each.key}-push"
  topic                   = each.value
  labels                  = var.labels
  ack_deadline_seconds    = var.events_subscription.ack_deadline_seconds
  enable_message_ordering = var.events_subscription.message_ordering
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.events_subscription.max_delivery_attempts
  }
  expiration_policy {
    ttl = ""
  }
  push_config {
    # functions-framework learns the topic of a push message from the URL path only.
    push_endpoint = "${google_cloudfunctions2_function.events.service_config[0].uri}/${each.value}"
    oidc_token {
      audience              = google_cloudfunctions2_function.events.service_config[0].uri
      service_account_email = google_service_account.events_push.email
    }
  }
  retry_policy {
    maximum_backoff = var.events_subscription.maximum_backoff
    minimum_backoff = var.events_subscription.minimum_backoff
  }
  depends_on = [google_cloud_run_v2_service_iam_member.events_push_invoker]
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = local.names.dead_letter
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
}
