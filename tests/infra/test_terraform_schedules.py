"""Terraform schedules: Cloud Scheduler jobs from var.schedules, each publishing to a trigger
topic that the same apply creates and pushes to the events function."""

from __future__ import annotations

from typing import Any

import hcl2
from wfx_procs import ROOT

INFRA = ROOT / "infra"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                    preserve_heredocs=False)


def _load(name: str) -> dict[str, Any]:
    return hcl2.loads((INFRA / name).read_text(), serialization_options=OPTIONS)


def test_each_schedule_is_a_scheduler_job_publishing_to_its_trigger_topic() -> None:
    job = _load("scheduler.tf")["resource"][0]["google_cloud_scheduler_job"]["schedules"]
    target = job["pubsub_target"][0]

    assert job["for_each"] == "${var.schedules}"
    assert job["schedule"] == "${each.value.cron}"
    assert job["time_zone"] == "${each.value.time_zone}"
    assert target["topic_name"] == "${google_pubsub_topic.triggers[each.value.topic].id}"
    assert target["data"] == "${base64encode(each.value.data)}"
    assert "schedule = each.key" in target["attributes"]


def test_schedule_topics_are_created_and_delivered_like_trigger_topics() -> None:
    pubsub = _load("pubsub.tf")
    local = pubsub["locals"][0]
    topics = next(r["google_pubsub_topic"]["triggers"] for r in pubsub["resource"]
                  if "triggers" in r.get("google_pubsub_topic", {}))

    assert local["trigger_topics"] == \
        "${toset(concat(var.trigger_topics, [for s in values(var.schedules) : s.topic]))}"
    assert topics["for_each"] == "${local.trigger_topics}"
    assert "google_pubsub_topic.triggers" in str(local["push_sources"])


def test_the_schedules_variable_demands_five_field_cron_and_json_data() -> None:
    variables = {k: v for e in _load("variables.tf")["variable"] for k, v in e.items()}
    schedules = variables["schedules"]

    assert "cron = string" in schedules["type"] and "topic = string" in schedules["type"]
    assert "time_zone = optional(string," in schedules["type"] and "Etc/UTC" in schedules["type"]
    condition = schedules["validation"][0]["condition"]
    assert "== 5" in condition and "jsondecode(s.data)" in condition
    services = _load("main.tf")["locals"][0]["services"]
    assert "cloudscheduler.googleapis.com" in services
