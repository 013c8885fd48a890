"""The agent roles the generators know: which words in a task call for them, the system prompt
each agent gets, and the kinds of tools that fit. Pure data plus one lookup; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """``name`` is the role (and the step id stem); ``agent`` the agent id stem; ``words`` the
    word stems that call for it; ``tools`` the tool kinds that fit, best first."""

    name: str
    agent: str
    words: tuple[str, ...]
    prompt: str
    tools: tuple[str, ...] = ()


_ANSWER = " Work only from the material you are given and say plainly what is missing or uncertain."

ROLES: tuple[Role, ...] = (
    Role("extract", "extractor",
         ("extract", "pars", "read", "load", "fetch", "collect", "gather", "ingest", "pull", "scrap", "retriev",
          "import", "download", "get", "receiv", "scan", "ocr", "transcrib", "open"),
         "You extract the facts, fields, figures and passages a task needs from the material you are "
         "given. Quote values exactly with their units, keep the source's names, and answer as a "
         "structured list without commentary." + _ANSWER,
         ("filesystem", "codebase_indexer", "http_request", "mcpremote")),
    Role("clean", "data_cleaner",
         ("clean", "normali", "transform", "convert", "format", "dedup", "standardi", "enrich", "tidy",
          "restructur", "merg", "join", "reshap", "fill"),
         "You clean and normalise data: fix obvious errors, unify formats and units, remove duplicates "
         "and mark records you could not repair. Answer with the cleaned data and a short list of what "
         "you changed." + _ANSWER),
    Role("classify", "classifier",
         ("classif", "categori", "tag", "label", "sort", "triag", "group", "cluster", "segment", "route",
          "bucket", "detect sentiment", "sentiment"),
         "You classify items into clear categories. Name the categories you use, give every item "
         "exactly one primary category with a one-line reason, and count the items per category." + _ANSWER),
    Role("analyse", "analyst",
         ("analy", "evaluat", "assess", "examin", "inspect", "audit", "investigat", "compar", "profil",
          "measur", "identif", "study", "benchmark", "test", "calculat", "comput", "aggregat", "trend",
          "forecast", "estimat", "find", "spot", "diagnos", "monitor", "track", "security", "performance",
          "quality", "risk", "vulnerab", "metric"),
         "You are a careful analyst. Find the patterns, problems, causes and numbers that matter for "
         "the task, rank findings by impact, and back every finding with evidence from the material." + _ANSWER,
         ("codebase_indexer", "filesystem")),
    Role("research", "researcher",
         ("research", "search", "look up", "lookup", "explor", "discover", "brows", "survey"),
         "You research a question: gather relevant, current and reliable information, note where each "
         "point comes from, and separate facts from opinions." + _ANSWER,
         ("http_request", "mcpremote", "filesystem")),
    Role("review", "reviewer",
         ("review", "critiqu", "proofread", "verif", "validat", "approv", "fact-check", "fact check",
          "double-check", "check", "critic", "grade", "score"),
         "You review work against the original request. Check correctness, completeness, clarity and "
         "tone. Start your answer with APPROVED when the work fully meets the request; otherwise start "
         "with REVISE and list the concrete changes needed, most important first.",
         ("filesystem",)),
    Role("summarise", "summarizer",
         ("summar", "condens", "digest", "overview", "recap", "brief", "highlight", "tl;dr", "dashboard",
          "key point", "takeaway", "abstract"),
         "You summarise: keep the key points, numbers and decisions, drop repetition, and lead with "
         "the most important conclusion. Use short headings and bullet points."),
    Role("plan", "planner",
         ("plan", "prioriti", "recommend", "decid", "propos", "suggest", "action item", "action",
          "schedul", "assign", "roadmap", "strateg", "next step", "todo", "to-do", "improv"),
         "You turn findings into a plan: concrete action items, each with an owner role, a priority "
         "(high/medium/low) and the finding it addresses. Order them by impact and effort.",
         ("tasklist",)),
    Role("translate", "translator",
         ("translat", "locali"),
         "You translate faithfully: keep meaning, tone, names, numbers and formatting; note any term "
         "that has no exact equivalent."),
    Role("respond", "responder",
         ("reply", "respond", "answer", "email", "notify", "send", "messag", "communicat", "announc"),
         "You write clear, polite and specific messages to the people concerned: what happened, what "
         "it means for them and what happens next. Keep it short.",
         ("message_queue_publisher",)),
    Role("write", "writer",
         ("writ", "draft", "compos", "generat", "creat", "produc", "report", "describ",
          "explain", "present", "publish", "prepar", "build", "outline", "article", "blog", "story"),
         "You write the deliverable the request asks for: well structured, accurate, and in plain "
         "language for its audience. Use headings, keep every claim traceable to the material, and "
         "do not invent facts."),
)

GENERAL = Role("general", "assistant", (),
               "You are a capable assistant. Do the task you are given thoroughly and answer in a clear "
               "structure." + _ANSWER)
SYNTHESISE = Role("synthesise", "synthesizer", ("combin", "consolidat", "synthes", "integrat", "unif"),
                  "You combine the results of several specialists into one coherent whole: merge "
                  "overlapping points, resolve or flag contradictions, and keep every important finding "
                  "with its evidence.")

BY_NAME = {r.name: r for r in (*ROLES, GENERAL, SYNTHESISE)}
# Roles whose output is a deliverable (the last step of a pipeline, the draft of a review loop).
DELIVERABLE = frozenset({"write", "summarise", "plan", "translate", "respond"})

_WORD = re.compile(r"[a-z][a-z'\-;]*")


def detect(text: str) -> Role:
    """The role whose words occur earliest in ``text`` (a verb usually leads a task); GENERAL
    when none does. Deterministic: ties go to the role listed first."""
    low = text.lower()
    best: tuple[int, int] | None = None
    found = GENERAL
    words = [(m.start(), m.group()) for m in _WORD.finditer(low)]
    for rank, role in enumerate((*ROLES, SYNTHESISE)):
        for stem in role.words:
            pos = _first(low, words, stem)
            if pos is not None and (best is None or (pos, rank) < best):
                best, found = (pos, rank), role
    return found


def _first(low: str, words: list[tuple[int, str]], stem: str) -> int | None:
    if " " in stem:  # a phrase: plain substring at a word start
        i = low.find(stem)
        return i if i >= 0 and (i == 0 or not low[i - 1].isalpha()) else None
    for pos, word in words:
        if word.startswith(stem):
            return pos
    return None
