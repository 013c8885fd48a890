"""Validation of ``agents:`` and agent steps: OpenAI-compatible types only, no endpoint or key
in a document (those belong to the operator), well-formed response formats and output schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import Issue
from .model import Step, WorkflowDocument

# LangSwarm's agent_type values that speak the OpenAI chat-completions API (directly or through a
# compatible server: Ollama, vLLM, llama.cpp, LM Studio, LocalAI ...).
OPENAI_COMPATIBLE = frozenset({
    "openai", "langchain-openai", "langchain_openai", "openai-compatible", "openai_compatible", "llm",
    "generic", "chat", "ollama", "vllm", "llamacpp", "llama.cpp", "llama-cpp", "lmstudio", "localai",
})
# Keys that would let a caller's document pick where the server's key goes.
ENDPOINT_KEYS = ("base_url", "api_base", "api_key_env", "api_key", "api_key_secret", "openai_api_key",
                 "openai_api_base", "endpoint")
TEXT_FORMATS = frozenset({"text"})
JSON_FORMATS = frozenset({"json", "json_object"})


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a usable JSON Schema, or None."""
    from jsonschema import Draft202012Validator, SchemaError

    if not isinstance(schema, dict):
        return f"a JSON Schema must be a mapping, got {type(schema).__name__}"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    return None


def format_schema(fmt: Any) -> dict[str, Any] | None:
    """The JSON Schema inside an agent's ``response_format`` (None for text or plain JSON)."""
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            inner = fmt.get("json_schema")
            return inner.get("schema") if isinstance(inner, dict) else None
        if fmt.get("type") == "json_object" and len(fmt) == 1:
            return None
        return fmt
    return None


def check_agents(doc: WorkflowDocument, source: str | None) -> Iterator[Issue]:
    for aid, agent in doc.agents.items():
        path = f"agents.{aid}"
        if agent.agent_type.lower() not in OPENAI_COMPATIBLE:
            yield Issue(f"{path}.agent_type", f"unsupported agent_type '{agent.agent_type}'", source,
                        fix=f"use an OpenAI-compatible type ({', '.join(sorted(OPENAI_COMPATIBLE))}); other "
                        "models can be served through an OpenAI-compatible endpoint the operator names")
        for key in ENDPOINT_KEYS:
            if key in (agent.model_extra or {}):
                yield Issue(f"{path}.{key}", f"a workflow cannot set '{key}': endpoints and keys belong to "
                            "the server's operator", source,
                            fix="remove it and write provider: <name> naming an endpoint the operator configured "
                            "(WFX_PROVIDERS), or leave provider out for the server's default endpoint")
        fmt = agent.response_format
        if isinstance(fmt, str) and fmt.lower() not in TEXT_FORMATS | JSON_FORMATS:
            yield Issue(f"{path}.response_format", f"unknown response_format '{fmt}'", source,
                        fix="use text, json_object, or a JSON Schema mapping")
        elif isinstance(fmt, dict):
            if fmt.get("type") == "json_schema" and not isinstance(fmt.get("json_schema"), dict):
                yield Issue(f"{path}.response_format.json_schema", "json_schema must be a mapping with a schema",
                            source, fix="write {type: json_schema, json_schema: {name: x, schema: {...}}}")
            elif (schema := format_schema(fmt)) is not None and (why := schema_problem(schema)):
                yield Issue(f"{path}.response_format", why, source, fix="fix the schema")


def check_agent_step(step: Step, path: str, doc: WorkflowDocument, source: str | None) -> Iterator[Issue]:
    if step.output_schema is None:
        return
    if step.agent is None:
        yield Issue(f"{path}.output_schema", "output_schema applies to agent steps only", source,
                    severity="warning", fix="remove it, or make this an agent step")
    elif (why := schema_problem(step.output_schema)) is not None:
        yield Issue(f"{path}.output_schema", why, source, fix="fix the schema")
