"""The task queue keeps retrying a delivery until after the lease of a runner that died with it
has run out (else a 409 from the dead lease is the last answer and the run stays running), in
the Terraform defaults and in the emulator stack; and the sweeper's defaults agree everywhere."""

from __future__ import annotations

import re
from typing import Any

from google.cloud import tasks_v2
from wfx_procs import ROOT
from workflow_executor.mcp.schemas import ExecuteWorkflowInput
from workflow_executor.settings import Settings

from emulators.cloud_tasks.queue_config import normalize_queue
from emulators.cloud_tasks.retry import RetryPolicy
from emulators.stack import queue_retry_config

VARIABLES = (ROOT / "infra" / "variables.tf").read_text()
HEARTBEAT_SLACK_S = 60.0  # the lease may have been renewed just before the crash: ask for a minute more


def _object_defaults(variable: str) -> dict[str, str]:
    """``name = optional(type, default)`` attributes of an object variable, as text."""
    block = VARIABLES[VARIABLES.index(f'variable "{variable}" {{'):]
    block = block[:block.index("\n}\n")]
    return {m[0]: m[2] for m in re.findall(r'(\w+)\s*=\s*optional\((\w+),\s*"?([^")]*)"?\)', block)}


def _seconds(text: str) -> float:
    assert text.endswith("s"), text
    return float(text[:-1])


def _policy(queue: dict[str, Any]) -> RetryPolicy:
    raw = tasks_v2.Queue.pb(tasks_v2.Queue(queue))
    normalize_queue(raw)  # the service's defaults for what is left unset
    return RetryPolicy.effective(raw.retry_config)


def test_the_terraform_queue_retries_past_the_default_lease() -> None:
    q = _object_defaults("queue")
    policy = RetryPolicy(max_attempts=int(q["max_attempts"]), min_backoff=_seconds(q["min_backoff"]),
                         max_backoff=_seconds(q["max_backoff"]), max_doublings=int(q["max_doublings"]),
                         max_retry_duration=_seconds(q["max_retry_duration"]))
    lease = Settings.from_env({}).lease_ttl_s
    assert "WFX_LEASE_TTL_S" not in (ROOT / "infra" / "functions.tf").read_text()  # so the default applies
    assert policy.last_attempt_s() >= lease + HEARTBEAT_SLACK_S


def test_the_stack_queue_retries_past_its_functions_lease_default_or_short() -> None:
    for lease in (Settings.from_env({}).lease_ttl_s, 2.0, 10.0, 300.0):
        policy = _policy({"name": "projects/p/locations/l/queues/q", "retry_config": queue_retry_config(lease)})
        assert policy.last_attempt_s() >= lease + HEARTBEAT_SLACK_S
        assert policy.max_backoff <= 2.0  # a redelivery follows a lapsed lease within seconds


def test_the_old_stack_retries_would_have_given_up_before_a_300_s_lease() -> None:
    # What the stack used before (100 attempts, 2 s apart at most), against the lease default of
    # then (300 s; an operator may still set it): the test above can fail.
    old = _policy({"name": "projects/p/locations/l/queues/q", "retry_config": {
        "max_attempts": 100, "min_backoff": {"nanos": 100_000_000}, "max_backoff": {"seconds": 2},
        "max_doublings": 4}})
    assert old.last_attempt_s() < 300.0


def test_the_sweeper_defaults_agree_between_terraform_and_the_app() -> None:
    defaults = Settings.from_env({})
    sweeper = _object_defaults("sweeper")
    assert float(sweeper["queued_after_seconds"]) == defaults.sweep_queued_after_s
    assert sweeper["schedule"] == "* * * * *"  # every minute: what `wfx serve` does by default
    assert defaults.sweep_interval_s == 60.0
    # a run queued with no task is looked at again only after the queue could have started it
    assert defaults.sweep_queued_after_s >= 2 * defaults.sweep_interval_s


def test_cloud_scheduler_calls_the_worker_sweep_as_the_tasks_account() -> None:
    import hcl2

    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                        preserve_heredocs=False)
    job = hcl2.loads((ROOT / "infra" / "sweeper.tf").read_text(), serialization_options=options)[
        "resource"][0]["google_cloud_scheduler_job"]["sweeper"]
    target = job["http_target"][0]
    worker = "${google_cloudfunctions2_function.worker.service_config[0].uri}"
    assert (job["schedule"], target["http_method"]) == ("${var.sweeper.schedule}", "POST")
    assert target["uri"] == worker + "/sweep"
    assert target["oidc_token"][0] == {"service_account_email": "${google_service_account.tasks.email}",
                                       "audience": worker}


def test_a_run_with_the_default_timeout_outlives_the_recovery_of_a_dead_worker() -> None:
    # A worker that dies mid-run is found when its lease lapses and is taken over at the next
    # sweep (or the queue's next retry). With the defaults that must happen well inside the
    # default execution timeout, or every run in flight on a crashed instance ends `timeout`
    # instead of resuming (seen with a 300 s lease against the 300 s default timeout).
    defaults = Settings.from_env({})
    recovery = defaults.lease_ttl_s + defaults.sweep_interval_s
    timeout = ExecuteWorkflowInput.model_fields["timeout"].default
    assert recovery <= timeout / 2, (recovery, timeout)
