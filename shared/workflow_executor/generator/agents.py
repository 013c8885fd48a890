"""Agent slots of a generated workflow, and how a caller's ``agents_config`` / ``tools_config``
fill them: a configured agent takes the slot it fits best, tools go to the agents whose role
uses that kind of tool. Endpoints and keys belong to the operator: configs may not name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from .roles import Role

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
# An agent may pick a provider by name only: a document never names an endpoint or a key.
FORBIDDEN_AGENT_KEYS = frozenset({"base_url", "api_base", "api_key", "api_key_env", "openai_api_key",
                                  "organization", "default_headers"})


@dataclass(frozen=True)
class Slot:
    """One agent the workflow needs: its generated id, role and system prompt."""

    id: str
    role: Role
    prompt: str
    focus: str | None = None
    tools: tuple[str, ...] = ()


@dataclass
class Assignment:
    """The document's ``agents`` and ``tools``, and which slot ids became configured agent ids."""

    agents: dict[str, dict[str, Any]]
    tools: dict[str, Any]
    renames: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def assign(slots: list[Slot], agents_config: dict[str, Any] | None, tools_config: dict[str, Any] | None) -> Assignment:
    """Fill ``slots`` with configured agents where they fit, generated agents elsewhere.
    Errors: InvalidArgument (field agents_config / tools_config) for a malformed config or one
    that names an endpoint or key."""
    configured = _agents_config(agents_config)
    tools = _tools_config(tools_config)
    out = Assignment(agents={}, tools=tools)
    chosen = _match(slots, configured)
    given_tools = _tools_for(slots, tools)
    for slot in slots:
        generated: dict[str, Any] = {"agent_type": "openai", "system_prompt": slot.prompt}
        if given_tools.get(slot.id):
            generated["tools"] = given_tools[slot.id]
        cid = chosen.get(slot.id)
        if cid is None:
            out.agents[slot.id] = generated
            continue
        out.agents[cid] = {**generated, **configured[cid]}
        if cid != slot.id:
            out.renames[slot.id] = cid
    for cid in configured:
        if cid not in out.agents:
            out.notes.append(f"agents_config: agent '{cid}' is not used: this complexity needs "
                             f"{len(slots)} agents")
    return out


def _agents_config(raw: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for aid, cfg in (raw or {}).items():
        if not isinstance(aid, str) or not _ID.match(aid):
            raise InvalidArgument(f"agents_config: '{str(aid)[:60]}' is not a valid agent id",
                                  fix="use letters, digits, '_' and '-', starting with a letter or '_'",
                                  field="agents_config")
        if cfg is None:
            cfg = {}
        if not isinstance(cfg, dict):
            raise InvalidArgument(f"agents_config.{aid} must be a mapping of agent settings",
                                  fix='write {"writer": {"model": "gpt-4o-mini", "system_prompt": "..."}}',
                                  field="agents_config")
        bad = sorted(k for k in cfg if str(k).lower() in FORBIDDEN_AGENT_KEYS)
        if bad:
            raise InvalidArgument(f"agents_config.{aid} sets {', '.join(bad)}: endpoints and keys belong to "
                                  "the server's operator", fix="remove them (an agent may name a provider "
                                  "the operator configured)", field="agents_config")
        out[aid] = {k: v for k, v in cfg.items() if k != "id"}
    return out


def _tools_config(raw: dict[str, Any] | None) -> dict[str, Any]:
    for tid, cfg in (raw or {}).items():
        if not isinstance(tid, str) or not _ID.match(tid):
            raise InvalidArgument(f"tools_config: '{str(tid)[:60]}' is not a valid tool id",
                                  fix="use letters, digits, '_' and '-', starting with a letter or '_'",
                                  field="tools_config")
        if not isinstance(cfg, dict):
            raise InvalidArgument(f"tools_config.{tid} must be a mapping (type, ...)",
                                  fix='write {"docs": {"type": "filesystem"}}', field="tools_config")
    return {tid: dict(cfg) for tid, cfg in (raw or {}).items()}


def _match(slots: list[Slot], configured: dict[str, dict[str, Any]]) -> dict[str, str]:
    """slot id -> configured agent id: exact ids first, then the best fit by role words in the
    agent's id and prompt, then the remaining agents to the remaining slots in order."""
    chosen: dict[str, str] = {}
    free = list(configured)
    for slot in slots:
        if slot.id in free:
            chosen[slot.id] = slot.id
            free.remove(slot.id)
    # best fits first; on a tie a role's own agent before a branch specialist, then document order
    pairs = sorted((-_fit(slot.role, cid, configured[cid]), slot.focus is not None, i, j, slot.id, cid)
                   for i, slot in enumerate(slots) if slot.id not in chosen for j, cid in enumerate(free))
    for neg, _branch, _i, _j, sid, cid in pairs:
        if neg < 0 and sid not in chosen and cid in free:
            chosen[sid] = cid
            free.remove(cid)
    for slot in slots:
        if slot.id not in chosen and free:
            chosen[slot.id] = free.pop(0)
    return chosen


def _fit(role: Role, agent_id: str, cfg: dict[str, Any]) -> int:
    text = f"{agent_id} {cfg.get('system_prompt') or ''}".lower().replace("_", " ").replace("-", " ")
    score = 3 if role.agent.lower() in text.split() or role.name in text.split() else 0
    return score + sum(1 for stem in role.words if stem in text)


def _tools_for(slots: list[Slot], tools: dict[str, Any]) -> dict[str, list[str]]:
    """slot id -> tool ids: the slot's own (planned) tools, then each configured tool that no
    slot got goes to the slots whose role uses its kind (the first slot when none does)."""
    out: dict[str, list[str]] = {s.id: list(s.tools) for s in slots}
    planned = {t for s in slots for t in s.tools}
    for tid, cfg in tools.items():
        if tid in planned:
            continue
        kind = f"{tid} {cfg.get('type') or ''}".lower()
        fits = [s for s in slots if any(k in kind or k.split("_")[0] in kind for k in s.role.tools)]
        for s in fits or slots[:1]:
            out[s.id].append(tid)
    return out
