"""OpenTelemetry on the emulator stack: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver
on loopback, an async run (MCP function -> Cloud Tasks emulator -> worker function) arrives as one
trace: a root span for the execution, a span for each step, and under the agent step a span per
model turn carrying the GenAI attributes (model, input/output tokens); metrics arrive too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import LLMServer
from otlp_receiver import OtlpReceiver
from support import eventually
from wfx_e2e_support import tool
from workflow_executor.trace_ids import trace_id_of

from emulators import session as emulators
from emulators.stack import Stack, start

WORKFLOW = """agents:
  - {id: writer, agent_type: openai, model: gpt-4o-mini, system_prompt: Answer briefly.}
workflows:
  traced:
    steps:
      - {id: prepare, function: builtins.echo, args: {value: "${input.q}"}}
      - {id: think, agent: writer, input: "${prepare.output}"}
      - {id: finish, function: builtins.echo, args: {value: "${think.output}"}}
"""


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, OtlpReceiver, LLMServer]]:
    fs, ps = emulators.firestore(), emulators.pubsub()
    with OtlpReceiver() as otlp, LLMServer() as llm:
        st = start(project="wfx-otel", state_dir=Path(tmp_path_factory.mktemp("otel-stack")),
                   firestore_host=fs.host_port, pubsub_host=ps.host_port,
                   extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OPENAI_BASE_URL": llm.base_url,
                              "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
        try:
            yield st, otlp, llm
        finally:
            st.stop()


def test_an_async_run_arrives_as_one_trace_with_step_and_genai_turn_spans(
        traced_stack: tuple[Stack, OtlpReceiver, LLMServer]) -> None:
    st, otlp, llm = traced_stack
    llm.script({"text": "Forty-two.", "usage": {"prompt_tokens": 31, "completion_tokens": 7}})
    started = tool(st.mcp_url, "execute_workflow", workflow=WORKFLOW, input_data={"q": "why?"},
                   execution_mode="async")
    eid = started["execution_id"]
    tid = f"{trace_id_of(eid):032x}"

    def whole() -> list[object]:
        spans = otlp.trace(tid)
        return spans if any(s.name.startswith("workflow ") for s in spans) else []

    spans = eventually(whole, timeout=60, interval=0.1, what="the run's trace at the receiver")
    [root] = [s for s in spans if s.name.startswith("workflow ")]
    assert root.parent_id == "" and root.attributes["wfx.execution.id"] == eid
    assert root.attributes["wfx.execution.status"] == "completed"
    steps = {s.attributes["wfx.step.id"]: s for s in spans if "wfx.step.id" in s.attributes}
    assert set(steps) == {"prepare", "think", "finish"}
    assert all(s.parent_id == root.span_id for s in steps.values())
    assert steps["think"].attributes["gen_ai.operation.name"] == "invoke_agent"
    [chat] = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert chat.parent_id == steps["think"].span_id
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert (chat.attributes["gen_ai.usage.input_tokens"], chat.attributes["gen_ai.usage.output_tokens"]) == (31, 7)
    assert steps["think"].start_ns <= chat.start_ns <= chat.end_ns <= steps["think"].end_ns
    assert root.start_ns <= steps["prepare"].start_ns and steps["finish"].end_ns <= root.end_ns
    assert {s.trace_id for s in spans} == {tid} and len({s.span_id for s in spans}) == len(spans)
    eventually(lambda: {"wfx.executions", "gen_ai.client.token.usage"} <= otlp.metrics, timeout=20,
               interval=0.1, what="the run's metrics")
