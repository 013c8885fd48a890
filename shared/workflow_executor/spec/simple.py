"""LangSwarm's simple workflow syntax (``"extractor -> analyzer -> user"``) expanded into steps,
the way its classic loader does: one agent step per name, ids ``step_<n>_<agent>``, the first
reads the user input, each next one the previous step's output, the last answers the user.
``"a, b -> merge -> user"`` runs ``a`` and ``b`` in parallel and joins them in ``merge``.
``"router -> (a | b) -> user"`` (which LangSwarm parses but never ran) routes by the previous
agent's reply: the branch it names runs (see ``builtins.choose_route``), else the first.
"""

from __future__ import annotations

import re
from typing import Any

from .normalize import Collector

_NAME_RE = re.compile(r"^[A-Za-z_][\w\-]*$")
_CHOICE_RE = re.compile(r"^\((.*)\)$", re.S)
_FIX = ('write "agent_a -> agent_b -> user", "a, b -> merge -> user" (parallel agents) or '
        '"router -> (a | b) -> user" (the router\'s reply names the branch)')


def expand(text: str, path: str, c: Collector) -> list[dict[str, Any]] | None:
    """The steps (raw, as a user would write them) for ``text``; None (with an issue) when it
    cannot be read. Agent names are checked later, like any agent step's."""
    parts = [p.strip() for p in re.split(r"\s*->\s*", text.strip())]
    if parts and parts[-1] == "user":
        parts = parts[:-1]
    if not parts or any(not p for p in parts):
        c.add(path, f"simple syntax '{text}' names no agents", fix=_FIX)
        return None
    groups = _groups(parts, text, path, c)
    if groups is None:
        return None
    return _Builder().build(groups)


def _groups(parts: list[str], text: str, path: str, c: Collector) -> list[tuple[str, list[str]]] | None:
    """Each part as (kind, names): ``agent`` (one name), ``parallel`` (a, b) or ``choice`` ((a | b))."""
    groups: list[tuple[str, list[str]]] = []
    for p in parts:
        m = _CHOICE_RE.match(p)
        if m:
            names, kind = [n.strip() for n in m.group(1).split("|")], "choice"
        elif "(" in p or ")" in p or "|" in p:
            c.add(path, f"simple syntax '{text}': '{p}' is not a group of routes", fix=_FIX)
            return None
        else:
            names = [n.strip() for n in p.split(",")]
            kind = "parallel" if len(names) > 1 else "agent"
        for name in names:
            if not _NAME_RE.match(name) or name == "user":
                c.add(path, f"simple syntax '{text}': '{name}' is not an agent name", fix=_FIX)
                return None
        groups.append((kind, names))
    kinds = [k for k, _ in groups]
    if "parallel" in kinds[1:]:
        c.add(path, f"simple syntax '{text}': only the first group may list parallel agents", fix=_FIX)
        return None
    if kinds[0] == "parallel" and (len(groups) == 1 or kinds[1] != "agent"):
        c.add(path, f"simple syntax '{text}': parallel agents need one agent that joins them",
              fix='write "a, b -> merge -> user"')
        return None
    return groups


class _Builder:
    """Turns groups into steps, wiring each group to the next with output.to / depends_on."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.n = 0
        self.joins: list[str] = []  # the parallel first group, which the next agent waits for

    def _id(self, name: str) -> str:
        self.n += 1
        return f"step_{self.n}_{name}"

    def build(self, groups: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
        tails: list[dict[str, Any]] = []  # the steps that hand over to the next group
        reply = "${context.user_input}"  # what the next group reads
        seen = "${context.user_input}"  # what the last agent group read (a branch reads its router's input)
        for kind, names in groups:
            if kind == "choice":
                tails, reply = self._choice(names, tails, reply, seen), "${previous_output}"
                continue
            heads: list[dict[str, Any]] = [{"id": self._id(name), "agent": name, "input": reply} for name in names]
            self.steps.extend(heads)
            self._link(tails, heads[0]["id"])
            seen = reply
            if len(heads) > 1:  # the parallel first group: its join reads them all and waits for them
                reply = "\n\n".join(f"${{context.step_outputs.{h['id']}}}" for h in heads)
                tails, self.joins = [], [h["id"] for h in heads]
            else:
                if self.joins:
                    heads[0]["depends_on"], self.joins = self.joins, []
                reply = f"${{context.step_outputs.{heads[0]['id']}}}"
                tails = heads
        self._link(tails, "user")
        return self.steps

    def _choice(self, names: list[str], tails: list[dict[str, Any]], reply: str,
                seen: str) -> list[dict[str, Any]]:
        """A route step that reads the previous reply and names one branch, then the branches
        (each reads what the router read); returns the branches (one of them runs)."""
        rid = self._id("route")
        route: dict[str, Any] = {"id": rid, "function": "builtins.choose_route",
                                 "args": {"reply": reply, "routes": list(names)}}
        self.steps.append(route)
        self._link(tails, rid)
        branches = [{"id": self._id(name), "agent": name, "input": seen} for name in names]
        self.steps.extend(branches)
        route["output"] = {"condition": {"switch": f"${{{rid}.output}}",
                                         "cases": {n: b["id"] for n, b in zip(names, branches, strict=True)},
                                         "default": branches[0]["id"]}}
        return branches

    @staticmethod
    def _link(tails: list[dict[str, Any]], target: str) -> None:
        for t in tails:
            t["output"] = {"to": target}
