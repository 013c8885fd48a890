"""`wfx troubleshoot ID` and `wfx advise FILE`: the rule-based Troubleshooter and Advisor on real
runs (locally, and with --url through a live `wfx serve`), no model configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wfx_procs import ROOT, serving

FLAKY = """workflows:
  flaky:
    steps:
      - {id: prepare, function: builtins.echo, args: {order: 42}}
      - id: charge
        function: builtins.fail
        args: {message: "card declined for ${prepare.output.order}", retryable: true}
        retry: {max_attempts: 2, backoff_s: 0}
      - {id: receipt, function: builtins.echo, args: {ok: true}}
"""
SHAKY = """agents:
  - {id: writer, system_prompt: Write., tools: [no_such_tool]}
workflows:
  shaky:
    steps:
      - {id: draft, agent: writer, input: "${user_input}", output: {to: polish}}
      - id: polish
        function: builtins.echo
        args: {v: 1}
        loop: {until: "false", body: []}
        output: {to: user}
      - {id: orphan, function: builtins.echo, args: {v: 2}}
"""
CYCLE = """workflows:
  review:
    steps:
      - {id: write, function: builtins.echo, args: {v: 1}, output: {to: check}}
      - {id: check, function: builtins.echo, args: {v: 2}, output: {to: write}}
"""


def wfx(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if k not in ("WFX_URL", "WFX_API_KEY", "OPENAI_API_KEY", "WFX_MODEL", "WFX_PROVIDERS")}
    full.update(WFX_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)


def _failed_run(tmp_path: Path, home: Path, *url: str) -> str:
    flow = tmp_path / "flaky.yaml"
    flow.write_text(FLAKY)
    ran = wfx(home, *url, "run", str(flow), "--json")
    assert ran.returncode == 1, ran.stderr
    return str(json.loads(ran.stdout)["execution_id"])


def test_troubleshoot_names_the_failing_step_its_input_its_retries_and_the_fixes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    eid = _failed_run(tmp_path, home)
    out = wfx(home, "troubleshoot", eid, "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert (d["status"], d["error"]["code"], d["error"]["step"]) == ("failed", "step_failed", "charge")
    step = d["failing_step"]
    assert (step["id"], step["action"], step["attempts"], step["max_attempts"]) == ("charge", "function", 2, 2)
    assert json.loads(step["input"]) == {"message": "card declined for 42", "retryable": True}
    assert d["retried_steps"] == ["charge"]
    assert d["not_reached"] == ["receipt"]
    assert any("failed all 2 attempts" in f for f in d["fixes"])
    assert any(f"rerun_execution(execution_id='{eid}')" in f for f in d["fixes"])
    text = wfx(home, "troubleshoot", eid)
    assert "failing step: charge (function), attempts 2 of 2" in text.stdout
    assert "not reached: receipt" in text.stdout
    missing = wfx(home, "troubleshoot", "no-such-execution")
    assert missing.returncode == 1 and "[not_found]" in missing.stderr


def test_advise_finds_unreachable_steps_missing_tools_unbounded_loops_and_agents_without_a_model(
        tmp_path: Path) -> None:
    shaky = tmp_path / "shaky.yaml"
    shaky.write_text(SHAKY)
    out = wfx(tmp_path / "home", "advise", str(shaky), "--json")
    assert out.returncode == 0, out.stderr  # valid: the findings are advice
    d = json.loads(out.stdout)
    kinds = {(f["kind"], f["path"]) for f in d["findings"]}
    assert kinds == {("missing_tool", "agents.writer.tools"), ("agent_without_model", "agents.writer"),
                     ("unbounded_loop", "workflows.shaky.steps[1].loop"),
                     ("unreachable_step", "workflows.shaky.steps[2]")}
    assert all(f["fix"] for f in d["findings"])
    with_model = wfx(tmp_path / "home", "advise", str(shaky), "--json", WFX_MODEL="m", OPENAI_API_KEY="k")
    assert "agent_default_model" in {f["kind"] for f in json.loads(with_model.stdout)["findings"]}
    text = wfx(tmp_path / "home", "advise", str(shaky))
    assert "warning workflows.shaky.steps[2]" not in text.stdout  # said once, as a finding
    assert "unreachable_step" in text.stdout


def test_advise_on_a_routing_cycle_is_invalid_and_names_the_loop_without_a_bound(tmp_path: Path) -> None:
    cycle = tmp_path / "cycle.yaml"
    cycle.write_text(CYCLE)
    out = wfx(tmp_path / "home", "advise", str(cycle), "--json")
    assert out.returncode == 1
    d = json.loads(out.stdout)
    assert d["valid"] is False and d["errors"]
    [finding] = d["findings"]
    assert finding["kind"] == "unbounded_loop" and "write -> check -> write" in finding["message"]


def test_troubleshoot_and_advise_work_through_the_endpoint_with_url(tmp_path: Path) -> None:
    with serving(tmp_path / "server") as url:
        client = tmp_path / "client"
        eid = _failed_run(tmp_path, client, "--url", url)
        out = wfx(client, "--url", url, "troubleshoot", eid, "--json")
        assert out.returncode == 0, out.stderr
        d = json.loads(out.stdout)
        assert d["failing_step"]["id"] == "charge" and d["failing_step"]["attempts"] == 2
        assert json.loads(d["failing_step"]["input"])["message"] == "card declined for 42"
        assert any(f"rerun_execution(execution_id='{eid}')" in f for f in d["fixes"])
        shaky = tmp_path / "shaky.yaml"
        shaky.write_text(SHAKY)
        adv = wfx(client, "--url", url, "advise", str(shaky), "--json")
        assert adv.returncode == 0, adv.stderr
        assert {f["kind"] for f in json.loads(adv.stdout)["findings"]} == {
            "missing_tool", "agent_without_model", "unbounded_loop", "unreachable_step"}
    assert not (client / "wfx.db").exists()  # remote mode kept nothing locally
