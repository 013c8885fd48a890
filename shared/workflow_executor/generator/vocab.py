"""The words the planner reads a description by: which words ask for which tool, what an agent
that does a verb is called, and the markers of conditions, parallel work, loops and child
workflows. Pure data; no I/O.
"""

from __future__ import annotations

import re

# A need (what a task's words ask for) -> the tool types that serve it, best first.
NEED_TOOLS: dict[str, tuple[str, ...]] = {
    "http": ("http_request", "mcpremote"),
    "files": ("filesystem",),
    "code": ("codebase_indexer", "filesystem"),
    "tasks": ("tasklist",),
    "publish": ("message_queue_publisher",),
    "workflow": ("workflow_executor",),
}
NEED_WORDS: dict[str, re.Pattern[str]] = {
    "http": re.compile(r"\b(?:fetch\w*|apis?|urls?|https?|endpoints?|webhooks?|rest|websites?|web ?pages?|"
                       r"download\w*|the web|online)\b", re.I),
    "files": re.compile(r"\b(?:files?|folders?|director(?:y|ies)|csvs?|pdfs?|spreadsheets?|xlsx|documents?|"
                        r"logs?|\w+\.(?:csv|json|txt|pdf|md|ya?ml|xlsx|log))\b", re.I),
    "code": re.compile(r"\b(?:(?<!discount )(?<!promo )(?<!coupon )(?<!postal )(?<!zip )(?<!country )code|"
                       r"codebases?|repositor(?:y|ies)|repos?|source tree|pull requests?|modules?|"
                       r"terraform)\b", re.I),
    "tasks": re.compile(r"\b(?:tasks?|follow[- ]?ups?|to-?dos?|action items?|tasklist)\b", re.I),
    "publish": re.compile(r"\b(?:publish\w*|alert\w*|notif\w*|queues?|e-?mail\w*|broadcast\w*|page the|pager|"
                          r"slack)\b", re.I),
}
# "the workflow X" / "workflow X" after a verb that runs something.
CALL = re.compile(r"\b(?:run|invoke|call|trigger|start|execute|kick off|launch)\s+(?:the\s+)?(?:"
                  r"workflows?\s+[`'\"]?(?P<a>[A-Za-z_][\w.-]{0,63})[`'\"]?|"
                  r"[`'\"]?(?P<b>[A-Za-z_][\w.-]{0,63})[`'\"]?\s+workflow)\b", re.I)

# Conditions: "email a report if revenue dropped", "If the ticket is urgent, page on-call".
COND_WORDS = r"only if|only when|only for|if|when|whenever|unless|in case"
COND_LEAD = re.compile(rf"^\s*(?P<kw>{COND_WORDS})\s+(?P<cond>.+?)(?:,\s*|\s+then\s+)(?P<task>.+)$", re.I)
COND_ONLY = re.compile(rf"^\s*(?P<kw>{COND_WORDS})\s+(?P<cond>.+)$", re.I)
COND_TAIL = re.compile(rf"^(?P<task>.+?)\s*,?\s+(?P<kw>{COND_WORDS})\s+(?P<cond>.+)$", re.I)
# verbs whose "if" / "when" is their object ("check if the totals match"), not a condition
ASK_VERBS = frozenset({"check", "verify", "see", "determine", "decide", "ask", "test", "find", "note", "record",
                       "confirm", "validate", "assess", "evaluate", "say", "tell", "report", "explain", "know"})
OTHERWISE = re.compile(r"^\s*(?:otherwise|else|if not|or else)\b[\s,:]*(?P<task>.+)$", re.I)
PARALLEL = re.compile(r"\s*,?\s*\b(?:in parallel|at the same time|simultaneously|concurrently|side by side|"
                      r"all at once|independently)\b", re.I)
UNTIL = re.compile(r"^(?P<task>.*?)\s*,?\s*\b(?:until|till)\s+(?P<cond>.+)$", re.I)
APPROVAL = re.compile(r"\b(?:approv\w*|accept\w*|sign(?:s|ed)? off|satisf\w*|good enough|no (?:more )?"
                      r"(?:changes|issues|comments))\b", re.I)
EACH = re.compile(r"\b(?:each|every one|all of them|them all)\b", re.I)
# "into 3 languages", "the two files": how many of what, when the items are not named
NUMBER = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}
COUNT = re.compile(r"\b(?P<n>two|three|four|five|six|[2-6])\s+(?:[a-z]+\s+)?(?P<what>[a-z]+s)\b", re.I)

# What an agent that does a verb is called (the verb is a task's first word).
AGENT_NOUN: dict[str, str] = {
    "fetch": "fetcher", "get": "fetcher", "pull": "fetcher", "download": "downloader", "load": "loader",
    "read": "reader", "parse": "parser", "extract": "extractor", "collect": "collector", "gather": "collector",
    "ingest": "ingester", "scrape": "scraper", "retrieve": "retriever", "import": "importer", "scan": "scanner",
    "process": "processor", "clean": "cleaner", "normalise": "normalizer", "normalize": "normalizer",
    "transform": "transformer", "convert": "converter", "turn": "converter", "classify": "classifier",
    "categorise": "categorizer", "categorize": "categorizer", "tag": "tagger", "triage": "triager",
    "route": "router", "group": "grouper", "sort": "sorter", "analyse": "analyzer", "analyze": "analyzer",
    "evaluate": "evaluator", "assess": "assessor", "examine": "examiner", "inspect": "inspector",
    "audit": "auditor", "investigate": "investigator", "compare": "comparer", "identify": "finder",
    "detect": "detector", "find": "finder", "spot": "finder", "calculate": "calculator", "compute": "calculator",
    "aggregate": "aggregator", "measure": "measurer", "profile": "profiler", "monitor": "monitor",
    "track": "tracker", "research": "researcher", "search": "searcher", "review": "reviewer", "check": "checker",
    "verify": "verifier", "validate": "validator", "proofread": "proofreader", "critique": "critic",
    "test": "tester", "score": "scorer", "grade": "grader", "summarise": "summarizer", "summarize": "summarizer",
    "condense": "summarizer", "recap": "summarizer", "highlight": "highlighter", "plan": "planner",
    "prioritise": "prioritizer", "prioritize": "prioritizer", "recommend": "advisor", "propose": "advisor",
    "suggest": "advisor", "decide": "decider", "assign": "assigner", "schedule": "scheduler",
    "estimate": "estimator", "translate": "translator", "localise": "localizer", "localize": "localizer",
    "reply": "responder", "respond": "responder", "answer": "responder", "email": "emailer", "notify": "notifier",
    "send": "sender", "pay": "payer", "alert": "alerter", "page": "pager", "publish": "publisher", "post": "poster",
    "announce": "announcer", "write": "writer", "draft": "drafter", "compose": "writer", "generate": "generator",
    "create": "creator", "produce": "producer", "build": "builder", "prepare": "preparer", "explain": "explainer",
    "describe": "describer", "present": "presenter", "outline": "outliner", "store": "archiver",
    "save": "archiver", "archive": "archiver", "export": "exporter", "compile": "compiler", "combine": "combiner",
    "merge": "merger", "visualise": "visualizer", "visualize": "visualizer", "pick": "selector",
    "choose": "selector", "select": "selector", "rank": "ranker", "flag": "flagger", "list": "lister",
    "revise": "reviser", "edit": "editor", "improve": "improver", "fix": "fixer", "refactor": "refactorer",
    "run": "runner", "add": "creator", "monitoring": "monitor", "open": "follow_up_creator", "file": "filer",
}
# Words that say nothing about what an agent is for (never part of an id).
FILLER = frozenset({
    "the", "a", "an", "of", "and", "or", "to", "for", "in", "on", "with", "its", "their", "it", "them", "this",
    "that", "these", "those", "all", "each", "every", "into", "from", "by", "our", "your", "my", "some", "any",
    "parallel", "same", "time", "simultaneously", "concurrently", "then", "also", "please", "new", "one",
    "both", "other", "others", "more", "most", "up", "out", "it's", "us", "we", "you", "me", "is", "are", "be",
    "at", "as", "so", "about", "via", "using", "use", "per", "over", "against", "than", "very", "just",
})
# Prepositions that end a task's object ("the orders | from the API").
OBJECT_END = frozenset({"from", "for", "into", "with", "by", "to", "in", "on", "at", "if", "when", "unless",
                        "until", "using", "via", "against", "as", "about", "per", "across", "over", "before",
                        "after", "so", "while", "and", "or", "then", "than", "according", "based"})
# Second words that only qualify the first ("security vulnerabilities" -> security).
GENERIC_TAIL = frozenset({"issues", "issue", "problems", "problem", "vulnerabilities", "risks", "concerns",
                          "aspects", "checks", "errors", "bugs", "findings", "side", "wise", "level", "metrics"})
NO_SINGULAR = frozenset({"news", "analysis", "status", "series", "data", "process", "access", "business",
                         "address", "class", "success", "progress", "is", "its", "this", "css", "aws", "kubernetes"})

# Waits (a wait step, not an agent): "wait for the manager's approval before paying", "once the
# manager approves, pay", "pay after approval", "wait until the payment arrives", "wait 2 hours".


def _who(group: str = "who") -> str:
    return rf"(?P<{group}>(?:the |a |an |our |your )?[a-z][\w-]*(?: [a-z][\w-]*){{0,2}}?)"


_WHO = _who()
_APPROVES = r"(?:approves?|has approved|signs? off|gives? (?:the )?(?:go-ahead|ok|okay))(?: (?:it|this|that|them))?"
_APPROVAL = r"(?:approval|sign[- ]?off|go-ahead|ok|okay|confirmation)"
WAIT_APPROVAL = (
    re.compile(rf"^(?:and |then )?wait (?:for|on) (?:an? |the )?(?:{_WHO}(?:'s|s'|\u2019s) )?{_APPROVAL}"
               r"(?:\s*,?\s*(?:before|then|and then|and) (?P<task>.+))?$", re.I),
    re.compile(rf"^(?:only )?(?:after|once|as soon as|when) {_WHO} {_APPROVES}\s*,?\s*(?:then )?(?P<task>.+)?$", re.I),
    re.compile(rf"^(?:only )?(?:after|once|upon) (?:an? |the |{_WHO}(?:'s|s'|\u2019s) )?{_APPROVAL}\s*,?\s*"
               r"(?:then )?(?P<task>.+)?$", re.I),
)
WAIT_APPROVAL_TAIL = re.compile(rf"^(?P<task>.+?)\s*,?\s+(?:but )?(?:only )?(?:after|once) (?:(?:an? |the )?{_APPROVAL}"
                                rf"|{_WHO} {_APPROVES}|{_who('owner')}(?:'s|s'|\u2019s) {_APPROVAL})$", re.I)
WAIT_UNTIL = re.compile(r"^(?:and |then )?wait (?:until|till|for) (?P<cond>(?!\d).+?)"
                        r"(?:\s*,?\s*(?:before|then|and then) (?P<task>.+))?$", re.I)
WAIT_TIME = re.compile(r"^(?:and |then )?(?:wait|pause|sleep)(?: for)? (?P<n>\d+(?:\.\d+)?|an?|one) "
                       r"(?P<unit>seconds?|minutes?|hours?|days?)(?:\s*,?\s*(?:before|then|and then) (?P<task>.+))?$",
                       re.I)
UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
