"""The compact workflow form an LLM answers in (structured output), its OpenAI-strict JSON
Schema, and its conversion into a workflow document (the description's plan is ``planner``).
A plan is untrusted: it is size-limited, may only name agents, tools and steps (never
endpoints, keys, functions or ``${env.*}``), and the document it becomes is validated like any other.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Issue
from .agents import FORBIDDEN_AGENT_KEYS
from .tasks import safe_text
from .tooling import Catalogue

MAX_ANSWER_BYTES = 64_000
MAX_AGENTS = 8
MAX_STEPS = 12
MAX_BODY = 4
MAX_ROUNDS = 5
WAIT_S = 7 * 86400  # how long a generated wait waits for its event
APPROVAL_SCHEMA = {"type": "object", "properties": {"approved": {"type": "boolean"}, "comment": {"type": "string"}},
                   "required": ["approved"]}
_TEXT = 4000
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
_ENV = re.compile(r"\$\{\s*(?:context\.)?env\b")
SOURCE = "llm answer"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanAgent(_Strict):
    id: str = Field(description="Agent id: letters, digits and '_'")
    system_prompt: str = Field(description="What this agent does and how it answers")
    tools: list[str] = Field(default_factory=list, description="Ids of tools it may call, only from the available "
                                                               "tools; often []")


class PlanBodyStep(_Strict):
    id: str = Field(description="Step id, unique in the workflow")
    agent: str = Field(description="Id of one of the agents")
    task: str = Field(description="One sentence: what this step does")
    input: str = Field(description="The prompt; may use ${user_input}, ${<earlier step id>.output}, ${loop.index}, "
                                   "${loop.last} (the previous round's outputs)")


class PlanLoop(_Strict):
    until: str = Field(description="Condition that ends the loop, e.g. "
                                   "\"contains(upper(str(${review.output})), 'APPROVED')\"")
    max_rounds: int = Field(description="At most this many rounds (1-5)")
    body: list[PlanBodyStep] = Field(description="Steps run in order each round, e.g. a draft step then a review step")


class PlanRoute(_Strict):
    condition: str = Field(description="When to take `then`, e.g. \"contains(upper(str(${check.output})), "
                                       "'URGENT: YES')\"")
    then: list[str] = Field(description="Step ids to run when the condition holds")
    otherwise: list[str] = Field(description="Step ids to run otherwise ([\"user\"] to finish)")


class PlanStep(_Strict):
    id: str = Field(description="Step id, unique in the workflow")
    agent: str | None = Field(description="Id of one of the agents; null for a review_loop or workflow step")
    task: str = Field(description="One sentence: what this step does")
    input: str = Field(description="The prompt; may use ${user_input}, ${<earlier step id>.output} and, in a "
                                   "fan-in step, ${branches.<branch step id>}; \"\" for a review_loop step")
    next: list[str] = Field(default_factory=list, description="Step ids this step hands over to (several = run "
                                                              "in parallel), or [\"user\"] for the final result")
    fan_key: str | None = Field(None, description="Shared by parallel branch steps and their fan-in step; else null")
    is_fan_in: bool = Field(False, description="true for the step that waits for every branch of its fan_key")
    review_loop: PlanLoop | None = Field(None, description="A draft/review loop that repeats until `until` "
                                                           "holds; else null")
    route: PlanRoute | None = Field(None, description="A condition that picks where to go after this step "
                                                      "(instead of next); else null")
    for_each: list[str] | None = Field(None, description="Run this step once per item (its input reads "
                                                         "${loop.item}); else null")
    workflow: str | None = Field(None, description="Name of another workflow this step runs (agent null); "
                                                   "else null")
    wait_for_event: str | None = Field(None, description="An event (e.g. approval) this step waits for, sent "
                                                         "by a person or another system (agent null); else null")
    sleep_seconds: float | None = Field(None, description="Seconds this step waits (agent null); else null")


class Plan(_Strict):
    agents: list[PlanAgent]
    steps: list[PlanStep] = Field(description="The first step starts the workflow")


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of ``Plan`` in OpenAI's strict form: every object closed and every
    property required (optional ones are nullable), no titles or defaults."""
    schema: dict[str, Any] = _strict(Plan.model_json_schema())
    return schema


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items() if k not in ("title", "default")}
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def parse(answer: str | None) -> tuple[Plan | None, list[Issue]]:
    """The plan in a model's answer, or the issues that make it unusable."""
    if not answer or not answer.strip():
        return None, [_issue("", "the answer is empty", "answer with the workflow as one JSON object")]
    if len(answer.encode("utf-8")) > MAX_ANSWER_BYTES:
        return None, [_issue("", f"the answer is longer than {MAX_ANSWER_BYTES} bytes",
                             "make the workflow smaller: fewer steps and shorter prompts")]
    try:
        data = json.loads(_json_part(answer))
    except ValueError as exc:
        return None, [_issue("", f"the answer is not JSON: {str(exc)[:120]}", "answer with one JSON object")]
    try:
        return Plan.model_validate(data), []
    except ValidationError as exc:
        return None, [_issue(".".join(str(p) for p in e["loc"]), e["msg"], "follow the JSON schema")
                      for e in exc.errors()[:20]]


def _json_part(answer: str) -> str:
    """The JSON object in an answer that wraps it in prose or a code fence (as models do)."""
    text = answer.strip()
    if text.startswith("{"):
        return text
    start, end = text.find("{"), text.rfind("}")
    return text[start:end + 1] if 0 <= start < end else text


def to_document(plan: Plan, name: str, description: str, complexity: str, agents_config: dict[str, Any],
                tools_config: dict[str, Any], catalogue: Catalogue) -> tuple[dict[str, Any], list[Issue]]:
    """The workflow document for ``plan``, and the issues found on the way (limits, unknown
    tools, forbidden references). Configured agents (``agents_config``) keep their settings."""
    issues: list[Issue] = []
    allowed_tools = frozenset(catalogue.tools)
    if len(plan.agents) > MAX_AGENTS:
        issues.append(_issue("agents", f"{len(plan.agents)} agents, more than {MAX_AGENTS}", "use fewer agents"))
    if len(plan.steps) > MAX_STEPS:
        issues.append(_issue("steps", f"{len(plan.steps)} steps, more than {MAX_STEPS}", "use fewer steps"))
    agents: dict[str, dict[str, Any]] = {}
    for i, a in enumerate(plan.agents[:MAX_AGENTS]):
        if not _ID.match(a.id):
            issues.append(_issue(f"agents[{i}].id", f"agent id '{a.id[:60]}' is not a simple name",
                                 "use letters, digits and '_'"))
            continue
        unknown = [t for t in a.tools if t not in allowed_tools]
        if unknown:
            issues.append(_issue(f"agents[{i}].tools", f"unknown tools: {', '.join(t[:40] for t in unknown)}",
                                 f"use only: {', '.join(sorted(allowed_tools)) or '(no tools available: [])'}"))
        agent: dict[str, Any] = {"agent_type": "openai", "system_prompt": _text(a.system_prompt, issues,
                                                                                f"agents[{i}].system_prompt")}
        if a.tools:
            agent["tools"] = [t for t in a.tools if t in allowed_tools]
        # a configured agent keeps the caller's settings; nothing from the answer names an endpoint
        agents[a.id] = {**agent, **agents_config.get(a.id, {})}
    for aid, cfg in agents_config.items():
        if aid not in agents and aid in _used_agents(plan):
            agents[aid] = dict(cfg)
    steps = [_step(s, i, issues) for i, s in enumerate(plan.steps[:MAX_STEPS])]
    for aid, cfg in agents.items():
        bad = sorted(k for k in cfg if k.lower() in FORBIDDEN_AGENT_KEYS)
        if bad:
            issues.append(_issue(f"agents.{aid}", f"sets {', '.join(bad)}", "endpoints and keys are the operator's"))
    text = safe_text(description)[:500]
    doc: dict[str, Any] = {
        "version": "1.0", "project_name": "generated", "description": text, "agents": agents,
        "workflows": {name: {"description": text, "steps": steps}},
        "settings": {"generator": "llm", "complexity": complexity},
    }
    used = {t for cfg in agents.values() for t in cfg.get("tools") or () if isinstance(t, str)}
    tools = {**catalogue.definitions(used), **tools_config}
    if tools:
        doc["tools"] = tools
    return doc, issues


def _used_agents(plan: Plan) -> set[str]:
    out = {s.agent for s in plan.steps if s.agent}
    for s in plan.steps:
        if s.review_loop is not None:
            out |= {b.agent for b in s.review_loop.body}
    return out


def _step(s: PlanStep, i: int, issues: list[Issue]) -> dict[str, Any]:
    path = f"steps[{i}]"
    step: dict[str, Any] = {"id": s.id, "description": safe_text(s.task)[:300]}
    if s.review_loop is not None:
        loop = s.review_loop
        if len(loop.body) > MAX_BODY:
            issues.append(_issue(f"{path}.review_loop.body", f"{len(loop.body)} body steps, more than {MAX_BODY}",
                                 "use a draft step and a review step"))
        body: list[dict[str, Any]] = [{"id": b.id, "description": safe_text(b.task)[:300], "agent": b.agent,
                 "input": _text(b.input, issues, f"{path}.review_loop.body[{j}].input")}
                for j, b in enumerate(loop.body[:MAX_BODY])]
        rounds = min(max(loop.max_rounds, 1), MAX_ROUNDS)
        until = _text(loop.until, issues, f"{path}.review_loop.until")
        if "loop.index" not in until:  # the loop ends after `rounds` rounds, never with a failure
            until = f"${{loop.index}} >= {rounds - 1} or ({until})"
        if body:  # the loop's output keeps every body step's output of the last round
            body.append({"id": f"{s.id}_round", "function": "builtins.merge",
                         "args": {b["id"]: f"${{{b['id']}.output}}" for b in body}})
        step["loop"] = {"until": until, "max": rounds, "var": "round", "body": body}
    elif s.wait_for_event:
        step["wait_for"] = {"event": s.wait_for_event, "timeout": WAIT_S}
        if s.wait_for_event == "approval":
            step["wait_for"]["payload_schema"] = APPROVAL_SCHEMA
    elif s.sleep_seconds is not None:
        step["sleep"] = s.sleep_seconds
    elif s.workflow:
        step["invoke_workflow"] = s.workflow
        step["input"] = _text(s.input, issues, f"{path}.input") or "${user_input}"
    else:
        step["agent"] = s.agent
        step["input"] = _text(s.input, issues, f"{path}.input")
        if s.for_each:
            step["loop"] = {"for_each": [safe_text(i)[:200] for i in s.for_each[:MAX_ROUNDS * 2]], "var": "item",
                            "max": min(len(s.for_each), MAX_ROUNDS * 2)}
    if s.route is not None:
        step["output"] = {"to": {"condition": {"if": _text(s.route.condition, issues, f"{path}.route.condition"),
                                               "then": list(s.route.then), "else": list(s.route.otherwise)}}}
    elif s.next:
        step["output"] = {"to": list(s.next)}
    if s.fan_key is not None:
        step["fan_key"] = s.fan_key
    if s.is_fan_in:
        step["is_fan_in"] = True
    return step


def _text(value: str, issues: list[Issue], path: str) -> str:
    if len(value) > _TEXT:
        issues.append(_issue(path, f"longer than {_TEXT} characters", "shorten it"))
        value = value[:_TEXT]
    if _ENV.search(value):
        issues.append(_issue(path, "reads ${env.*}, which generated workflows may not",
                             "pass values through ${user_input} instead"))
    return value


def _issue(path: str, message: str, fix: str) -> Issue:
    return Issue(path=path or "(answer)", message=message, file=SOURCE, fix=fix)
