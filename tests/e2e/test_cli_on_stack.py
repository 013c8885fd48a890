"""The README's trigger walkthrough on the emulator stack, driven by the CLI: `wfx --url`
registers a workflow whose trigger topic does not exist yet (registering creates it and its
push subscription), one message published over the Pub/Sub emulator's REST API starts it
exactly once, and `wfx --url ... executions` shows it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

from support import eventually

from emulators.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wfx(stack: Stack, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WFX_")}
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", "--url", stack.mcp_url, *args], cwd=ROOT,
                          env={**env, "WFX_HOME": str(home)}, capture_output=True, text=True, timeout=120)


def publish(stack: Stack, topic: str, data: dict[str, object]) -> None:
    url = f"http://{stack.env['PUBSUB_EMULATOR_HOST']}/v1/projects/{stack.project}/topics/{topic}:publish"
    body = json.dumps({"messages": [{"data": base64.b64encode(json.dumps(data).encode()).decode()}]}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with _HTTP.open(req, timeout=30) as resp:
        assert resp.status == 200, resp.read()


def test_a_workflow_registered_with_wfx_url_is_started_once_by_a_message_on_its_new_topic(
        stack: Stack, tmp_path: Path) -> None:
    name, topic = f"on_order_{uuid.uuid4().hex[:8]}", f"fresh-{uuid.uuid4().hex[:8]}"
    doc = tmp_path / "on_order.yaml"
    doc.write_text(f"workflows:\n  {name}:\n    steps:\n"
                   "      - {id: a, function: builtins.echo, args: {value: \"order ${input.id}\"}}\n"
                   f"triggers:\n  - {{topic: {topic}, filter: {{type: created}},\n"
                   "     input: {id: \"${message.data.id}\"}}\n")

    registered = wfx(stack, tmp_path, "register", str(doc))
    assert registered.returncode == 0, registered.stderr
    publish(stack, topic, {"type": "created", "id": 7})

    def done() -> list[dict[str, object]]:
        rows = json.loads(wfx(stack, tmp_path, "executions", "--workflow", name, "--json").stdout)
        return rows if rows and all(r["status"] == "completed" for r in rows) else []

    rows = eventually(done, timeout=60, interval=0.3, what="the triggered run to complete")
    shown = json.loads(wfx(stack, tmp_path, "status", str(rows[0]["execution_id"]), "--json").stdout)

    assert len(rows) == 1
    assert shown["result"] == "order 7"
