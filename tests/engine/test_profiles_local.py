"""Execution profiles in `wfx serve`'s isolated mode (subprocess jobs), the profile rule of the
one gate, and the operator's code folder: a profile's cores and name reach the job, a job killed
by a signal resumes once on the fallback, a key may use only its profiles, unknown ones are refused."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from workflow_executor.access import SCOPES, Caller
from workflow_executor.api import Executor
from workflow_executor.errors import Forbidden, InvalidArgument
from workflow_executor.mcp.auth import KeyRing, create_key
from workflow_executor.models import ExecutionStatus
from workflow_executor.profiles import parse_profiles
from workflow_executor.settings import Settings

PROFILES = {"small": {"cpu": "1", "memory": "1Gi", "fallback": "big"}, "big": {"memory": "2Gi"}}
OPERATOR = '''
import os, signal


def where():
    return {"profile": os.environ.get("WFX_PROFILE"), "cores": len(os.sched_getaffinity(0))}


def die_on(profile):
    if os.environ.get("WFX_PROFILE") == profile:
        os.kill(os.getpid(), signal.SIGKILL)  # as the memory killer would
    return os.environ.get("WFX_PROFILE")
'''


@pytest.fixture
def wfx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Executor]:
    code = tmp_path / "operator_code"
    code.mkdir()
    (code / "acme_local.py").write_text(textwrap.dedent(OPERATOR))
    # the jobs read their settings from the environment, as `wfx serve`'s do
    for name, value in {"WFX_HOME": str(tmp_path / "home"), "WFX_PROFILES": json.dumps(PROFILES),
                        "WFX_OPERATOR_CODE": str(code), "WFX_FUNCTION_MODULES": "acme_local"}.items():
        monkeypatch.setenv(name, value)
    ex = Executor.local(settings=replace(Settings.from_env(), store="sqlite"))
    yield ex
    ex.close()


def flow(step: str) -> str:
    return f"workflows: {{w: {{steps: [{step}]}}}}"


def test_a_profile_sets_the_jobs_cores_and_the_job_knows_its_profile(wfx: Executor) -> None:
    started = wfx.submit(workflow=flow("{id: s, function: acme_local.where}"), mode="isolated",
                         target_instance="small")
    done = wfx.wait(started.id, timeout=30)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert (done.profile, done.result) == ("small", {"profile": "small", "cores": 1})
    from workflow_executor.mcp.http import handle  # the web view shows where it ran (open, on loopback)

    page = handle(wfx.services, "GET", f"/ui/api/executions/{done.id}", {"host": "127.0.0.1"}, b"", "")
    assert "<dt>profile</dt><dd>small</dd>" in page.body.decode(), page.body[:300]


def test_a_job_killed_by_a_signal_resumes_once_on_the_fallback(wfx: Executor) -> None:
    started = wfx.submit(workflow=flow("{id: s, function: acme_local.die_on, args: {profile: small}}"),
                         mode="isolated", target_instance="small")
    done = wfx.wait(started.id, timeout=40)
    assert (done.status, done.result) == (ExecutionStatus.COMPLETED, "big")
    moved = [e for e in wfx.store.load_turns(started.id, "placement") if e.get("recovered_from")]
    assert [(e["recovered_from"], e["profile"]) for e in moved] == [("small", "big")]


def test_a_run_the_fallback_cannot_save_either_fails_after_one_move(wfx: Executor) -> None:
    started = wfx.submit(workflow=flow("{id: s, function: acme_local.die_on, args: {profile: big}}"),
                         mode="isolated", target_instance="big")
    done = wfx.wait(started.id, timeout=30)
    assert (done.status, done.error.code if done.error else None) == (ExecutionStatus.FAILED, "job_failed")


def test_an_unknown_profile_or_one_for_another_mode_is_refused_before_anything_is_stored(wfx: Executor) -> None:
    with pytest.raises(InvalidArgument) as unknown:
        wfx.submit(workflow=flow("{id: s, function: acme_local.where}"), mode="isolated", target_instance="gpu")
    assert unknown.value.details.get("field") == "target_instance" and "big, small" in unknown.value.message
    with pytest.raises(InvalidArgument):
        wfx.submit(workflow=flow("{id: s, function: acme_local.where}"), mode="sync", target_instance="big")
    assert wfx.executions().items == []


def test_a_key_limited_to_some_profiles_may_not_pick_another_nor_get_it_by_default(wfx: Executor) -> None:
    caller = Caller("k", frozenset({"run"}), profiles=frozenset({"small"}))
    with pytest.raises(Forbidden):
        wfx.submit(workflow=flow("{id: s, function: acme_local.where}"), mode="isolated", target_instance="big",
                   caller=caller)
    doc = "settings: {target_instance: big}\n" + flow("{id: s, function: acme_local.where}")
    with pytest.raises(Forbidden):  # the workflow's default goes through the same rule
        wfx.submit(workflow=doc, mode="isolated", caller=caller)
    admin = Caller("a", frozenset(SCOPES), profiles=frozenset({"small"}))
    assert wfx.submit(workflow=flow("{id: s, function: acme_local.where}"), mode="isolated",
                      target_instance="big", caller=admin, dispatch=False).profile == "big"


def test_keys_created_with_profiles_authenticate_with_them_and_unknown_profiles_are_refused(tmp_path: Path) -> None:
    s = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_PROFILES": json.dumps(PROFILES)})
    key = create_key(s, ["run"], None, "limited", profiles=["small"])
    caller = KeyRing(s).authenticate({"x-api-key": key})
    assert caller is not None and caller.profiles == frozenset({"small"})
    with pytest.raises(InvalidArgument):
        create_key(s, ["run"], None, "bad", profiles=["gpu"])


@pytest.mark.parametrize("raw", ['{"a": {"fallback": "b"}}', '{"a": {"memory": "lots"}}', '{"a": {"colour": 1}}',
                                 '{"a": {"fallback": "a"}}', '{"A": {}}', '[1]', '{"a": {"cpu": -1}}'])
def test_a_bad_profiles_setting_is_refused_naming_the_setting(raw: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_profiles(raw)
    assert err.value.details.get("field") == "WFX_PROFILES"


def test_profile_sizes_are_read_as_cloud_run_writes_them() -> None:
    parsed = parse_profiles('{"a": {"memory": "512Mi", "cpu": "2", "timeout_s": "600s"}, "b": {"memory": "4Gi"}}')
    a, b = parsed["a"], parsed["b"]
    assert (a.memory_mb, a.cpu, a.timeout_s, b.memory_mb) == (512, 2.0, 600, 4096)
