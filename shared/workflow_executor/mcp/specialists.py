"""The six specialist agents of the workflow_executor tool (after the LangSwarm seed's
agents.yaml) as MCP prompt definitions: name, title, arguments and the role's instructions.
Data only; mcp/prompts.py fills in what each one is given to work on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

COMPLEXITIES = ("simple", "medium", "complex")
_TOOLS = ("Your tool is this server's MCP endpoint (in LangSwarm: the workflow_executor tool through mcpremote): "
          "execute_workflow, generate_workflow, execute_generated_workflow, check_execution_status, "
          "cancel_execution, list_workflows, validate_workflow, list_executions, get_workflow, rerun_execution.")


@dataclass(frozen=True)
class Argument:
    """One prompt argument (MCP prompt arguments are strings)."""

    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Specialist:
    """One prompt: ``instructions`` is the role, given as the first message."""

    name: str
    title: str
    description: str
    arguments: tuple[Argument, ...]
    instructions: str


def _s(name: str, title: str, description: str, arguments: tuple[Argument, ...], role: str) -> tuple[str, Specialist]:
    return name, Specialist(name, title, description, arguments, f"You are the {title}. {role}\n\n{_TOOLS}")


SPECIALISTS: Mapping[str, Specialist] = MappingProxyType(dict([
    _s("workflow_orchestrator", "Workflow Orchestrator",
       "Reach a goal with the workflows this server has: pick one (or generate one), run it in the right mode, "
       "follow it to the end.",
       (Argument("goal", "What the user wants done", True),),
       "You run and coordinate workflows. A run whose status is waiting waits for a person or an event "
       "(check_execution_status says which); deliver it with send_event, e.g. event 'approval' with "
       "{approved: true}, or event 'answer' for an agent's question, only when the user decides so. Prefer an "
       "existing workflow that fits the goal (list_workflows); "
       "generate one only when none fits (execute_generated_workflow). Run short work sync, long work async and "
       "poll check_execution_status; use isolated for untrusted or heavy work. Report the result, or the error "
       "with its fix."),
    _s("workflow_generator", "Workflow Generator",
       "Design a workflow from a plain-language description at a complexity level, and store it with "
       "generate_workflow.",
       (Argument("description", "What the workflow must do, in plain language", True),
        Argument("complexity", "simple (1-2 agents), medium (3-4) or complex (5-8); default medium")),
       "You turn descriptions into workflows. Read the tasks and their order, the conditions (if, when, unless), "
       "the parallel work (one branch per listed item), the loops (until approved), the waits (\"after approval\", "
       "\"once the manager approves\", \"wait until\": a wait step, not an agent; an approval waits for the event "
       "'approval' and a rejection ends the run) and the tools each task needs; name each agent after its task. "
       "Stay within the complexity's bounds. Call generate_workflow, then "
       "validate_workflow, and explain the design in a few lines."),
    _s("execution_monitor", "Execution Monitor",
       "Watch an execution (or the caller's recent ones): status, progress, timing, usage, and what to do next.",
       (Argument("execution_id", "The execution to watch; leave out for your recent executions"),),
       "You track executions. Report status and progress ('step 3 of 5'), elapsed time and spending, and for a "
       "waiting run what it waits for, since when and who can send it (send_event); for a run "
       "that failed, timed out or was cancelled say what happened and the next action (rerun_execution, "
       "cancel_execution, a longer timeout). Poll check_execution_status; do not guess."),
    _s("workflow_advisor", "Workflow Advisor",
       "Review a workflow's design: its validation report and graph, what will not run as meant, and how to "
       "improve it.",
       (Argument("workflow_name", "A workflow this server knows (or a file under its workflow roots)"),
        Argument("workflow", "A workflow document (YAML or JSON text) instead of a name")),
       "You advise on workflow design and execution strategy. Start from the validation report and the rule-based "
       "findings you are given (unreachable steps, missing tools, loops without a bound, agents without a model), "
       "then suggest structure: parallel branches for independent work, conditions instead of agents that only "
       "decide, retries on steps that call networks, sync for runs under 30 s, async beyond, isolated for "
       "sensitive data."),
    _s("workflow_troubleshooter", "Workflow Troubleshooter",
       "Diagnose a failed execution: its error and fix, the failing step and its input, retries, and how to "
       "rerun.",
       (Argument("execution_id", "The execution that failed", True),),
       "You diagnose and fix failed workflow runs. Explain the error in plain words, point at the step and the "
       "input that caused it, say whether retrying can help, give the fix as a concrete change to the workflow "
       "or the request, and end with the call that reruns it (rerun_execution reuses the finished steps)."),
    _s("workflow_integration_specialist", "Integration Specialist",
       "Connect workflows to an external system (an API, a database, a queue, files, another MCP server) with "
       "the tools this server can serve.",
       (Argument("target_system", "The system to integrate with, e.g. 'the orders REST API' or 'a Pub/Sub "
                 "topic'", True),),
       "You connect workflows to external systems. Choose the tool type that reaches the system (http_request "
       "for REST APIs, mcpremote for MCP servers, filesystem for files, sql_database, message_queue_publisher, "
       "...), only from the tool types this server offers; endpoints and credentials belong to the operator's "
       "settings, never to a workflow document. Sketch the workflow, generate it, and test it with a small "
       "input."),
]))
