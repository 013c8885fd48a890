"""``dynamic_forms`` (LangSwarm: ``mcpdynamic_forms``, ``mcpforms``): JSON form schemas for a
front end, from the forms declared on the tool (``forms: {name: {title, description, fields}}``)
or LangSwarm's default forms. Pure computation: it reads no file and reaches no service
(LangSwarm's ``user_context.config_path`` is ignored: a document never names a file to read).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...errors import InvalidArgument, NotFound
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolEnv, tool_setting

FIELD_TYPES = ("text", "email", "password", "number", "select", "multiselect", "toggle", "slider", "textarea")


def _select(fid: str, label: str, options: list[tuple[str, str]], default: str) -> dict[str, Any]:
    return {"id": fid, "label": label, "type": "select", "default_value": default,
            "options": [{"value": v, "label": lab} for v, lab in options]}


LANGUAGES = [("en", "English"), ("es", "Spanish"), ("fr", "French")]
# LangSwarm's built-in forms, used when the tool declares none
DEFAULT_FORMS: dict[str, dict[str, Any]] = {
    "basic": {"title": "Basic Configuration", "description": "Simple configuration form", "fields": [
        {"id": "name", "label": "Name", "type": "text", "required": True, "placeholder": "Enter your name"},
        {"id": "enabled", "label": "Enabled", "type": "toggle", "default_value": True,
         "help_text": "Enable this feature"}]},
    "general": {"title": "General Settings Configuration", "description": "Configure general application settings",
                "fields": [
        {"id": "app_name", "label": "Application Name", "type": "text", "required": True},
        {"id": "display_name", "label": "Display Name", "type": "text", "required": False},
        _select("language", "Language", LANGUAGES, "en"),
        _select("timezone", "Timezone", [("UTC", "UTC"), ("EST", "Eastern"), ("PST", "Pacific")], "UTC"),
        {"id": "debug_mode", "label": "Debug Mode", "type": "toggle", "default_value": False},
        {"id": "max_users", "label": "Maximum Users", "type": "number", "default_value": 100,
         "min_value": 1, "max_value": 10000}]},
    "ui": {"title": "User Interface Settings", "description": "Configuration for user interface preferences",
           "fields": [
        _select("theme", "Theme", [("light", "Light"), ("dark", "Dark"), ("auto", "Auto")], "auto"),
        _select("language", "Language", LANGUAGES, "en"),
        {"id": "notifications", "label": "Enable Notifications", "type": "toggle", "default_value": True}]},
    "ai": {"title": "AI Configuration", "description": "Settings for AI model and behavior", "fields": [
        _select("model", "AI Model", [("gpt-4o", "GPT-4o"), ("gpt-4", "GPT-4"), ("claude-3", "Claude 3")], "gpt-4o"),
        {"id": "temperature", "label": "Temperature", "type": "slider", "min_value": 0, "max_value": 2,
         "step": 0.1, "default_value": 0.7, "help_text": "Controls randomness of AI responses"},
        {"id": "max_tokens", "label": "Max Tokens", "type": "number", "min_value": 100, "max_value": 4000,
         "default_value": 1000}]},
    "system": {"title": "System Configuration", "description": "Advanced system and infrastructure settings",
               "fields": [
        _select("log_level", "Log Level", [("debug", "Debug"), ("info", "Info"), ("warning", "Warning"),
                                           ("error", "Error")], "info"),
        {"id": "cache_enabled", "label": "Enable Caching", "type": "toggle", "default_value": True},
        {"id": "backup_frequency", "label": "Backup Frequency (hours)", "type": "number", "min_value": 1,
         "max_value": 168, "default_value": 24},
        {"id": "admin_email", "label": "Administrator Email", "type": "email", "required": True}]},
}


class SchemaArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_type: str = Field(..., description="the form's name (see get_available_forms)")
    user_context: dict[str, Any] | None = Field(None, description="echoed in the schema for the front end")
    included_fields: list[str] | None = Field(None, description="only these fields (an empty list: none)")
    excluded_fields: list[str] | None = Field(None, description="leave these fields out")
    current_settings: dict[str, Any] | None = Field(None, description="values that pre-fill fields, by field id")


class FormArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_type: str = Field(..., description="the form's name")


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def tool_forms(tool: Tool) -> dict[str, dict[str, Any]]:
    """The tool's forms (or the defaults). Errors: InvalidArgument for a malformed form."""
    forms = tool_setting(tool, "forms")
    if forms is None:
        return DEFAULT_FORMS
    if not isinstance(forms, Mapping) or not forms:
        raise InvalidArgument(f"tool '{tool.id}': forms must map form names to {{title, fields}}",
                              fix="write forms: {settings: {title: ..., fields: [{id, label, type}]}}", field="forms")
    for name, form in forms.items():
        fields = form.get("fields") if isinstance(form, Mapping) else None
        if not isinstance(fields, list):
            raise InvalidArgument(f"tool '{tool.id}': form '{name}' has no fields list",
                                  fix="give each form fields: [{id, label, type}]", field=f"forms.{name}")
        for i, f in enumerate(fields):
            if not isinstance(f, Mapping) or not isinstance(f.get("id"), str) or f.get("type") not in FIELD_TYPES:
                raise InvalidArgument(f"tool '{tool.id}': form '{name}' field {i} needs an id and a type",
                                      fix=f"field types: {', '.join(FIELD_TYPES)}", field=f"forms.{name}.fields[{i}]")
    return {str(k): dict(v) for k, v in forms.items()}


def _check(tool: Tool, env: ToolEnv) -> str | None:
    try:
        tool_forms(tool)
    except InvalidArgument as exc:
        return str(exc)
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    forms = tool_forms(tool)
    source = "tool" if tool_setting(tool, "forms") is not None else "default"

    def form(name: str) -> dict[str, Any]:
        if name not in forms:
            raise NotFound(f"there is no form '{name[:100]}'", fix=f"use one of: {', '.join(forms)}")
        return copy.deepcopy(forms[name])

    def generate_form_schema(a: SchemaArgs, ctx: ToolCall) -> Any:
        definition = form(a.form_type)
        fields = list(definition.get("fields", []))
        if a.included_fields is not None:
            fields = [f for f in fields if f["id"] in a.included_fields]
        if a.excluded_fields:
            fields = [f for f in fields if f["id"] not in a.excluded_fields]
        for f in fields:
            if a.current_settings and f["id"] in a.current_settings:
                f["default_value"] = a.current_settings[f["id"]]
        title = str(definition.get("title") or a.form_type)
        description = str(definition.get("description") or title)
        now = dt.datetime.now(dt.UTC)
        context = {k: v for k, v in (a.user_context or {}).items() if k != "config_path"}
        return {"form_schema": {
            "form_id": f"{a.form_type}_form_{now:%Y%m%d_%H%M%S}", "title": title,
            "description": f"Configure your {description.lower()}", "form_type": a.form_type,
            "sections": [{"id": f"{a.form_type}_section", "title": title.replace(" Configuration", ""),
                          "description": description, "fields": fields}],
            "metadata": {"generated_by": "dynamic-forms", "field_count": len(fields), "config_source": source,
                         "filters_applied": {"included_fields": a.included_fields,
                                             "excluded_fields": a.excluded_fields,
                                             "has_current_settings": bool(a.current_settings)}},
            "created_at": now.isoformat(), "user_context": context or None}}

    def get_available_forms(a: NoArgs, ctx: ToolCall) -> Any:
        return {"forms": [{"form_type": k, "title": v.get("title"), "field_count": len(v.get("fields", []))}
                          for k, v in forms.items()]}

    def get_form_definition(a: FormArgs, ctx: ToolCall) -> Any:
        return {"form_type": a.form_type, "definition": form(a.form_type)}

    return [
        Operation("generate_form_schema", "Build a form's JSON schema (filter fields, pre-fill current values).",
                  SchemaArgs, generate_form_schema),
        Operation("get_available_forms", "List the forms this tool offers.", NoArgs, get_available_forms),
        Operation("get_form_definition", "The raw definition of one form.", FormArgs, get_form_definition),
    ]


KIND = OperationsKind("dynamic_forms", "JSON form schemas from the tool's forms (or LangSwarm's defaults)",
                      _operations, check=_check,
                      aliases=("mcpdynamic_forms", "mcpdynamicforms", "mcpforms", "forms", "dynamic-forms"))
