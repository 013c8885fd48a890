"""What an agent step must reply: text, any JSON, or JSON valid against a schema (the step's
``output_schema`` wins over the agent's ``response_format``); parsing and checking a reply."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..spec.agent_checks import JSON_FORMATS, format_schema

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?```\s*$", re.S)


@dataclass(frozen=True)
class OutputSpec:
    json: bool = False
    schema: dict[str, Any] | None = None

    def api_format(self) -> dict[str, Any] | None:
        """The ``response_format`` request parameter."""
        if self.schema is not None:
            return {"type": "json_schema", "json_schema": {"name": "output", "schema": self.schema}}
        if self.json:
            return {"type": "json_object"}
        return None

    def instruction(self) -> str | None:
        """A system line: JSON mode needs the word JSON in the messages (OpenAI's rule)."""
        if self.schema is not None:
            return ("Reply with one JSON value only, no prose and no code fences, valid against this JSON "
                    f"Schema: {json.dumps(self.schema, separators=(',', ':'))}")
        if self.json:
            return "Reply with one JSON object only, no prose and no code fences."
        return None


def output_spec(response_format: Any, output_schema: dict[str, Any] | None) -> OutputSpec:
    if output_schema is not None:
        return OutputSpec(json=True, schema=output_schema)
    if isinstance(response_format, dict):
        return OutputSpec(json=True, schema=format_schema(response_format))
    if isinstance(response_format, str) and response_format.lower() in JSON_FORMATS:
        return OutputSpec(json=True)
    return OutputSpec()


def parse(spec: OutputSpec, content: str | None) -> tuple[Any, str | None]:
    """(the step's output, None) or (None, what is wrong with the reply)."""
    text = content or ""
    if not spec.json:
        return text, None
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"the reply is not valid JSON ({exc.msg} at position {exc.pos})"
    if spec.schema is None:
        return value, None
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(spec.schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errors:
        return value, None
    described = "; ".join(f"at {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:200]}"
                          for e in errors[:5])
    return None, f"the JSON does not match the schema: {described}"
