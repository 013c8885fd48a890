"""infra/ wires the agents' tools for the cloud: the settings the app reads (WFX_MQ_*, WFX_BQ_*,
WFX_*_SECRET) reach the functions and the job, and the runtime and job accounts get exactly the
topics, subscriptions, secrets and datasets the operator listed, nothing project-wide."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from tf_support import blocks
from tf_support import locals_ as _locals
from tf_support import resources as _resources
from wfx_procs import ROOT
from workflow_executor.settings_tools import ToolSettings

TOOL_MEMBERS = {"job": "serviceAccount:${google_service_account.job.email}", "runtime": "${local.runtime}"}


def _variable(name: str) -> dict[str, Any]:
    [found] = [dict(entry[name]) for entry in blocks("variable") if name in entry]
    return found


def _squash(expression: str) -> str:
    return re.sub(r"\s+", "", expression)


def _grants(role: str) -> dict[tuple[str, str], Any]:
    return {key: body for key, body in _resources().items() if "_iam_" in key[0] and body.get("role") == role}


def test_the_tool_settings_reach_the_functions_and_the_job_under_the_names_the_app_reads() -> None:
    local = _locals()
    tool_env = json.dumps(local["tool_env"])
    names = set(re.findall(r"\b(WFX_[A-Z_]+) =", tool_env))

    assert names == {"WFX_BQ_DATASETS", "WFX_BQ_LOCATION", "WFX_BQ_PROJECT", "WFX_GITHUB_TOKEN_SECRET",
                     "WFX_MQ_SUBSCRIPTIONS", "WFX_MQ_TOPICS", "WFX_SQL_DATABASES_SECRET"}
    # every one is a setting the app parses (a renamed setting would silently close the tool)
    source = (ROOT / "shared/workflow_executor/settings_tools.py").read_text() + \
        (ROOT / "shared/workflow_executor/settings_tools_data.py").read_text()
    for name in names:
        assert f'"{name}"' in source, name
    # base_env feeds all three functions and (minus the API keys) the job
    assert "local.tool_env" in json.dumps(local["base_env"])
    assert 'if v != \\"\\"' in tool_env  # an unused tool sets nothing, so it stays closed


def test_the_settings_terraform_writes_parse_into_the_allow_lists_of_the_tools() -> None:
    # what tool_env renders for topics ["alerts"], subscriptions {inbox = "alerts"}, datasets ["docs.chunks"]
    env = {"WFX_MQ_TOPICS": ",".join(["alerts", "reports"]),
           "WFX_MQ_SUBSCRIPTIONS": ",".join(f"{n}={t}" for n, t in {"inbox": "alerts"}.items()),
           "WFX_BQ_DATASETS": "docs.chunks", "WFX_BQ_PROJECT": "proj",
           "WFX_SQL_DATABASES_SECRET": "projects/p/secrets/wfx-sql"}
    tools = ToolSettings.from_env(env)

    assert tools.mq_topics == ("alerts", "reports")
    assert tools.mq_subscriptions == (("inbox", "alerts"),)
    assert tools.bq_datasets == ("docs.chunks",) and tools.vector_backend == "bigquery"
    assert tools.data.sql_databases_secret == "projects/p/secrets/wfx-sql"
    subs = json.dumps(_locals()["tool_env"])
    assert '${name}=${topic}' in subs and 'join(\\",\\", var.message_queue.topics)' in subs


def test_both_tool_accounts_publish_to_exactly_the_listed_topics() -> None:
    grants = _grants("roles/pubsub.publisher")
    mq = grants[("google_pubsub_topic_iam_member", "mq_publisher")]
    local = _locals()

    assert _squash(mq["for_each"]) == _squash("${{ for pair in setproduct(keys(local.tool_members), "
                                              "var.message_queue.topics) : join(\"/\", pair) => pair }}")
    assert mq["topic"] == "${local.mq_topics[each.value[1]].name}"
    assert mq["member"] == "${local.tool_members[each.value[0]]}"
    assert local["tool_members"] == TOOL_MEMBERS
    # mq_topics: the listed trigger topics and the created queue topics, nothing else
    assert "if contains(var.message_queue.topics, name)" in local["mq_topics"]
    assert "google_pubsub_topic.queues" in local["mq_topics"]
    assert local["queue_topics"] == "${setsubtract(toset(var.message_queue.topics), local.trigger_topics)}"
    # no other publisher grant names a tool account on some other topic
    others = {k for k, b in grants.items() if b.get("member") in TOOL_MEMBERS.values()}
    assert others == {("google_pubsub_topic_iam_member", "runtime_publisher"),
                      ("google_pubsub_topic_iam_member", "job_publisher")}
    for key in others:
        assert grants[key]["topic"] == "${google_pubsub_topic.events.name}"


def test_both_tool_accounts_pull_exactly_the_listed_subscriptions_which_are_created_on_managed_topics() -> None:
    resources = _resources()
    grant = _grants("roles/pubsub.subscriber")[("google_pubsub_subscription_iam_member", "mq_subscriber")]
    sub = resources[("google_pubsub_subscription", "queues")]

    assert "setproduct(keys(local.tool_members), keys(var.message_queue.subscriptions))" in grant["for_each"]
    assert grant["subscription"] == "${google_pubsub_subscription.queues[each.value[1]].name}"
    assert grant["member"] == "${local.tool_members[each.value[0]]}"
    assert sub["for_each"] == "${var.message_queue.subscriptions}"
    assert sub["name"] == "${var.prefix}-${each.key}"  # the app's PubSubMessageQueue adds the same prefix
    assert "push_config" not in sub  # a pull subscription: the consumer pulls it
    condition = sub["lifecycle"][0]["precondition"][0]["condition"]
    assert condition == "${contains(concat(var.message_queue.topics, tolist(local.trigger_topics)), each.value)}"


def test_queue_topics_are_prefixed_like_trigger_topics_and_never_the_events_topic() -> None:
    topic = _resources()[("google_pubsub_topic", "queues")]
    trigger = _resources()[("google_pubsub_topic", "triggers")]

    assert topic["name"] == trigger["name"] == "${var.prefix}-${each.value}"
    assert topic["lifecycle"][0]["precondition"][0]["condition"] == "${each.value != var.events_topic}"
    assert "WFX_TRIGGER_TOPIC_PREFIX" in json.dumps(_locals()["base_env"])


def test_the_data_tool_secrets_are_created_without_versions_and_readable_by_both_accounts() -> None:
    resources = _resources()
    secret = resources[("google_secret_manager_secret", "tools")]
    grant = _grants("roles/secretmanager.secretAccessor")[("google_secret_manager_secret_iam_member", "tool_secrets")]
    tool_env = json.dumps(_locals()["tool_env"])

    assert secret["for_each"] == "${local.tool_secret_ids}"
    assert secret["secret_id"] == "${var.prefix}-${each.value}"
    assert _squash(_locals()["tool_secret_ids"]) == \
        _squash("${{ for name, id in var.tool_secrets : name => id if id != null }}")
    assert "setproduct(keys(local.tool_members), keys(local.tool_secret_ids))" in grant["for_each"]
    assert grant["secret_id"] == "${google_secret_manager_secret.tools[each.value[1]].secret_id}"
    assert grant["member"] == "${local.tool_members[each.value[0]]}"
    assert not [k for k in resources if k[0] == "google_secret_manager_secret_version"]
    # the app gets the secret's full id, which read_secret appends /versions/latest to
    assert 'google_secret_manager_secret.tools[\\"github_token\\"].id' in tool_env
    assert 'google_secret_manager_secret.tools[\\"sql_databases\\"].id' in tool_env
    assert set(re.findall(r"(\w+)\s+= optional", _variable("tool_secrets")["type"])) == {"github_token",
                                                                                        "sql_databases"}


def test_bigquery_grants_read_exactly_the_listed_datasets_or_tables_and_run_jobs_in_their_project() -> None:
    resources = _resources()
    dataset = resources[("google_bigquery_dataset_iam_member", "vector_search")]
    table = resources[("google_bigquery_table_iam_member", "vector_search")]
    jobs = resources[("google_project_iam_member", "vector_search_job_user")]
    local = _locals()

    assert dataset["role"] == table["role"] == "roles/bigquery.dataViewer"
    assert "if grant.table == null" in dataset["for_each"] and "if grant.table != null" in table["for_each"]
    assert table["table_id"] == "${each.value.table}"
    for grant in (dataset, table):
        assert grant["project"] == "${local.bq_project}" and grant["dataset_id"] == "${each.value.dataset}"
        assert grant["member"] == "${each.value.member}"
    assert "setproduct(keys(local.tool_members), keys(local.bq_entries))" in local["bq_grants"]
    assert jobs["role"] == "roles/bigquery.jobUser" and jobs["project"] == "${local.bq_project}"
    assert jobs["for_each"] == "${length(var.bigquery_vector_search.datasets) > 0 ? local.tool_members : {}}"
    assert local["bq_project"] == "${coalesce(var.bigquery_vector_search.project, var.project_id)}"
    # no dataset-wide or project-wide read role beyond these
    viewers = {k for k in _grants("roles/bigquery.dataViewer")}
    assert viewers == {("google_bigquery_dataset_iam_member", "vector_search"),
                       ("google_bigquery_table_iam_member", "vector_search")}


@pytest.mark.parametrize(("value", "ok"), [("docs", True), ("docs.chunks", True), ("proj.docs.chunks", False),
                                           ("proj:docs", False)])
def test_bigquery_datasets_are_dataset_or_dataset_table_without_a_project(value: str, ok: bool) -> None:
    condition = _variable("bigquery_vector_search")["validation"][0]["condition"]
    pattern = re.search(r'regex\("(.*?)", d\)', condition)
    assert pattern, condition
    assert bool(re.fullmatch(pattern.group(1).replace("\\\\", "\\"), value)) is ok


def test_the_function_zip_installs_every_package_the_library_and_its_gcp_extra_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["gcp"]
    source_type = _variable("function_source")["type"]
    listed = re.findall(r'"([A-Za-z0-9_.\-\[\]]+[<>=][^"]*)"', source_type)

    def name(spec: str) -> str:
        return re.split(r"[<>=\[]", spec, maxsplit=1)[0].lower()

    assert {name(s) for s in listed} == {name(s) for s in wanted}
