"""Reading a description: its tasks (sentences, "then", numbered lists), the aspects a task
enumerates ("for security, performance and style"), names and safe text. The description is
data throughout: nothing taken from it can become a ``${...}`` reference.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import InvalidArgument

COMPLEXITIES = ("simple", "medium", "complex")
MAX_TASKS = 12
MAX_TASK_CHARS = 600
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_SPLIT = re.compile(r"(?:\n+|;|(?<=[.!?])\s+|\band then\b|\bthen\b|\bfinally\b|\bafterwards\b|->|→|=>|"
                    r"^\s*(?:\d+|[a-z])[.)]\s*|^\s*[-*•]\s+)", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")
_LEAD = re.compile(r"^(?:and|then|finally|next|also|first|second|third|lastly|after that|afterwards)\b[\s,:]*",
                   re.IGNORECASE)
_ENUM = re.compile(r"\b(?:for|on|across|covering|including|regarding|by|into|in terms of|such as)\s+(.+)$|:\s*(.+)$",
                   re.IGNORECASE)
_ENUM_END = re.compile(r"\b(?:with|to produce|to create|to write|so that|before|after|using|from|then)\b",
                       re.IGNORECASE)
_ENUM_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*/\s*|\s*&\s*", re.IGNORECASE)
# Imperative verbs that start a new task after a comma: "Collect the feedback, classify it".
_VERBS = ("extract|parse|read|load|fetch|collect|gather|ingest|pull|scrape|retrieve|import|download|get|clean|"
          "normali[sz]e|transform|convert|classify|categori[sz]e|triage|analy[sz]e|evaluate|assess|examine|"
          "inspect|audit|investigate|compare|identify|calculate|compute|aggregate|research|review|critique|"
          "proofread|verify|validate|check|summari[sz]e|condense|prioriti[sz]e|recommend|propose|suggest|"
          "translate|reply|respond|notify|send|write|draft|compose|generate|create|produce|build|prepare|turn|"
          "detect|find|flag|highlight|rank|merge|combine|publish|store|save|export|compile|present|visuali[sz]e|"
          "pick|choose|select|decide|explain|estimate|assign|email|e-mail|alert|page|run|invoke|trigger|execute|"
          "archive|upload|revise|edit|improve|fix|refactor|monitor|track|poll|repeat|keep|open|"
          # words that are nouns too count as verbs only before an object
          r"(?:group|sort|tag|label|list|plan|score|order)(?=\s+(?:it|them|the|a|an|all|each|every|these|those)\b)")
# ", classify", ", and extracts", " and check each": a new task (third-person verbs too: "a workflow that
# reads ..."); after a bare "and" only a verb with an object or at the end ("for style and test coverage" stays)
_OBJ = (r"(?:a|an|the|it|them|this|that|these|those|each|every|all|any|some|their|its|our|your|my|one|into|for|"
        r"with|to|from|on|in|by|whether|if|how|what|which|who|where|up|out|back)")
_CLAUSE = re.compile(rf"(?:,\s*(?:and\s+|or\s+)?(?=(?:{_VERBS})(?:s|es)?\b)|\s+and\s+(?:then\s+)?(?="
                     rf"(?:{_VERBS})(?:s|es)\b|(?:{_VERBS})(?:\s+{_OBJ}\b|\s*$|\s*[,.;])))", re.IGNORECASE)
_VERB_START = re.compile(rf"(?:{_VERBS})\b", re.IGNORECASE)
_FROM = re.compile(r"\b(?:from|between|in)\s+(.+)$", re.IGNORECASE)
_STOP = frozenset({"the", "a", "an", "of", "and", "or", "to", "for", "in", "on", "with", "its", "their", "it",
                   "them", "this", "that", "these", "all", "each", "into", "from", "by", "our", "your"})


def check_complexity(complexity: str) -> None:
    """Errors: InvalidArgument when ``complexity`` is not simple, medium or complex."""
    if complexity not in COMPLEXITIES:
        raise InvalidArgument(f"complexity '{complexity[:40]}' is not one of simple, medium, complex",
                              fix="use simple, medium or complex", field="complexity")


def split_tasks(description: str) -> list[str]:
    """The task texts of ``description`` in order, at least one, at most MAX_TASKS (the surplus
    is folded into the last). Each is safe text (see ``safe_text``)."""
    pieces = [c for p in _SPLIT.split(description) if p for c in _CLAUSE.split(p)]
    parts = [_LEAD.sub("", p.strip(" ,.-\t")) for p in pieces if p.strip(" ,.-\t")]
    parts = [safe_text(p)[:MAX_TASK_CHARS] for p in parts if _WORD.search(p.lower())]
    if not parts:
        parts = [safe_text(description)[:MAX_TASK_CHARS] or "Answer the request"]
    if len(parts) > MAX_TASKS:
        parts = [*parts[: MAX_TASKS - 1], "; ".join(parts[MAX_TASKS - 1:])[:MAX_TASK_CHARS]]
    return parts


def segments(description: str) -> list[str]:
    """The sentence-level parts of ``description`` (sentences, lines, ';', "then", arrows,
    numbered lists), stripped, in order."""
    parts = [p.strip(" ,.-\t") for p in _SPLIT.split(description) if p]
    return [_LEAD.sub("", p) for p in parts if p and _WORD.search(p.lower())]


def clauses(segment: str) -> list[str]:
    """The tasks of one segment: "Collect the feedback, classify it and write a summary" ->
    three clauses (a comma or "and" before a verb starts a new one)."""
    out = [_LEAD.sub("", c.strip(" ,.-\t")) for c in _CLAUSE.split(segment)]
    return [c for c in out if c and _WORD.search(c.lower())]


def aspects(task: str) -> list[str]:
    """What ``task`` enumerates as separate aspects (2 to 4 short items), else []:
    "Analyse the code for security, performance and style" -> [security, performance, style]."""
    found = enumeration(task)
    return found[0][:4] if found else []


def enumeration(task: str) -> tuple[list[str], int, int] | None:
    """The 2 to 6 short items ``task`` enumerates and the span of their text, else None:
    "Translate it into French, German and Spanish" -> ([French, German, Spanish], start, end)."""
    for pattern in (_ENUM, _FROM):
        for m in pattern.finditer(task):
            group = 1 if m.group(1) is not None else 2
            tail = _ENUM_END.split(m.group(group))[0]
            items = [i.strip(" .;:,") for i in _ENUM_SPLIT.split(tail)]
            items = [i for i in items if i]
            for k, item in enumerate(items):  # "... on price, support and pick the best": the verb ends the list
                if len(item.split()) > 1 and _VERB_START.match(item):
                    items = items[:k]
                    break
            if 2 <= len(items) <= 6 and all(1 <= len(i.split()) <= 4 for i in items):
                start = m.start(group)
                return items, start, start + len(tail.rstrip(" .;:,"))
    return None


def slug(text: str, words: int = 2, limit: int = 24) -> str:
    """A short identifier from the first content words of ``text`` ('' when it has none)."""
    found = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    return "_".join(found[:words])[:limit].strip("_")


def default_name(description: str) -> str:
    """A stable name: ``generated_`` + the first words + a short hash of the description."""
    words = _WORD.findall(description.lower())[:4]
    digest = hashlib.sha256(description.encode("utf-8")).hexdigest()[:8]
    return "_".join(["generated", *words, digest])[:64]


def check_name(name: str) -> None:
    """Errors: InvalidArgument when ``name`` cannot name a workflow."""
    if not NAME_RE.match(name):
        raise InvalidArgument(f"workflow_name '{name[:80]}' is not a valid name",
                              fix="use letters, digits, '_', '-' or '.', starting with a letter or '_'",
                              field="workflow_name")


def safe_text(text: str) -> str:
    """``text`` with every ``${`` (and ``{{``, which validation flags as a LangSwarm-docs
    placeholder) broken up, so that no part of a description (or of any other untrusted text
    placed into a document) is ever read as a reference."""
    out = text.replace("\r", "").strip()
    while "${" in out or "{{" in out:
        out = out.replace("${", "$ {").replace("{{", "{ {")
    return out
