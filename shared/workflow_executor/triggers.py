"""Workflow triggers: which stored workflows a Pub/Sub message starts, and with what input."""

# A trigger {topic, workflow, filter, input} matches a message on topic (the short topic name or
# the full projects/P/topics/T) when every filter entry matches: attributes.K an attribute,
# data.a.b a field of the JSON body, a bare K the attribute K or else the body's field K; a list
# value means any of. input (default: the message) may hold whole-string references
# ${message.data...}, ${message.attributes.K}, ${message.id}.

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import Transient, WfxError
from .overlap import Admit, admit
from .ports import PauseStore, WorkflowRegistry
from .ports_tools import hops_of
from .spec.model import WorkflowDocument

if TYPE_CHECKING:
    from .api import Executor
    from .services import Services

log = logging.getLogger(__name__)

TRIGGER_PRINCIPAL = "trigger"

CACHE_TTL_S = 5.0  # a newly registered trigger takes effect within this long (see matching)
CLOCK_SKEW_S = 1.0
_MISSING = object()


@dataclass(frozen=True)
class Message:
    id: str
    topic: str | None
    attributes: dict[str, str]
    data: bytes
    published_at_s: float
    publish_time: str = ""  # as Pub/Sub stamped it (exact, the same on every redelivery); "" when absent

    def payload(self) -> Any:
        """The body as JSON when it is JSON, else as text."""
        try:
            return json.loads(self.data)
        except ValueError:
            return self.data.decode("utf-8", "replace")

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "attributes": dict(self.attributes), "data": self.payload(),
                "published_at_s": self.published_at_s}


@dataclass(frozen=True)
class Route:
    topic: str
    workflow: str
    filter: dict[str, Any]
    input: Any
    max_concurrent: int | None = None
    overlap: str = "skip"

    @property
    def key(self) -> str:
        """Its name in ``ports.PauseStore``."""
        return f"trigger:{self.workflow}:{self.topic}"

    def listens(self, topic: str) -> bool:
        return self.topic in (topic, topic.rsplit("/", 1)[-1])

    def accepts(self, topic: str, msg: Message) -> bool:
        if not self.listens(topic):
            return False
        payload = msg.payload()
        return all(_equal(_lookup(key, msg.attributes, payload), want) for key, want in self.filter.items())


class TriggerIndex:
    """The triggers of the latest version of every stored workflow, re-read every few seconds
    (one cached index per registry object)."""

    _instances: ClassVar[weakref.WeakKeyDictionary[Any, TriggerIndex]] = weakref.WeakKeyDictionary()
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: WorkflowRegistry, ttl_s: float = CACHE_TTL_S) -> None:
        self._registry = registry
        self._ttl_s = ttl_s
        self._routes: list[Route] = []
        self._loaded_at = -float("inf")
        self._loaded_wall_s = 0.0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, registry: WorkflowRegistry) -> TriggerIndex:
        with cls._instances_lock:
            index = cls._instances.get(registry)
            if index is None:
                index = cls._instances[registry] = cls(registry)
            return index

    def matching(self, topic: str, msg: Message, *, refresh_on_miss: bool = False) -> list[Route]:
        """The routes ``msg`` on ``topic`` takes. ``refresh_on_miss``: a topic that only triggers
        push here, so when no cached route takes the message and the cache is older than it, the
        trigger it was meant for was probably registered just before: re-read the registry. (Also
        when another trigger listens on the topic: a second workflow on a topic must not miss the
        messages of its first seconds. A message the filters drop costs at most one re-read.)"""
        found = [r for r in self.routes() if r.accepts(topic, msg)]
        if not found and refresh_on_miss:
            found = [r for r in self.routes(fresh_since=msg.published_at_s + CLOCK_SKEW_S)
                     if r.accepts(topic, msg)]
        return found

    def routes(self, fresh_since: float | None = None) -> list[Route]:
        """The cached routes; re-read when older than the TTL or loaded before ``fresh_since``
        (epoch seconds)."""
        with self._lock:
            stale = time.monotonic() - self._loaded_at > self._ttl_s
            if stale or (fresh_since is not None and self._loaded_wall_s < fresh_since):
                self._routes = load_routes(self._registry)
                self._loaded_at, self._loaded_wall_s = time.monotonic(), time.time()
            return self._routes


def load_routes(registry: WorkflowRegistry) -> list[Route]:
    """Each trigger belongs to the stored workflow it starts (so a document stored under several
    names contributes each trigger once, and only for a registered workflow)."""
    routes: list[Route] = []
    for stored in registry.list():
        triggers = stored.document.get("triggers") or ()
        if not triggers:
            continue
        try:
            doc = WorkflowDocument.model_validate(stored.document)
        except ValueError:
            log.error("stored workflow %s does not parse; its triggers are ignored", stored.name)
            continue
        for trig in doc.triggers:
            if (trig.workflow or doc.workflow().id) == stored.name:
                routes.append(Route(trig.topic, stored.name, dict(trig.filter), trig.input, trig.max_concurrent,
                                    trig.overlap))
    return routes


def dedup_key(source_topic: str, msg: Message, workflow: str) -> str:
    """The idempotency key of the run a message starts. Message ids are unique per topic only,
    and not even there over time: a re-created topic, or a restarted emulator, numbers from 1
    again. A redelivery keeps its id and its publish time, so topic + id + publish time name one
    message."""
    return f"msg:{source_topic}:{msg.id}:{msg.publish_time}:{workflow}"


def start_triggered(services: Services, executor: Callable[[], Executor], msg: Message, topic: str,
                    source_topic: str) -> tuple[str, ...]:
    """Start (async, once per message: ``dedup_key``) every stored workflow whose trigger takes
    ``msg`` on ``topic``; ``executor()`` is called only when one does. The events function and the
    embedded message queue both come here. A message more than ``trigger_max_hops`` publish
    hops deep (``wfx_hops``) starts nothing: logged, so a self-triggering publish loop ends.
    Returns the execution ids. Errors: Transient; a trigger that cannot start is logged and
    skipped (never retried forever)."""
    routes = TriggerIndex.of(services.registry).matching(
        topic, msg, refresh_on_miss=topic != services.settings.events_topic)
    if not routes:
        return ()
    hops = hops_of(msg.attributes)
    if hops > services.settings.trigger_max_hops:
        # a workflow that publishes to a topic that triggers it would otherwise start itself forever
        log.warning("trigger %s: message %s is %d publish hops deep, over WFX_TRIGGER_MAX_HOPS=%d; "
                    "not starting %s", topic, msg.id, hops, services.settings.trigger_max_hops,
                    ", ".join(r.workflow for r in routes))
        return ()
    ex_ = executor()
    started: list[str] = []
    paused = services.store.paused() if isinstance(services.store, PauseStore) else set()
    for route in routes:
        if route.key in paused:
            log.info("trigger %s -> %s is paused: message %s skipped", topic, route.workflow, msg.id)
            continue
        if admit(ex_, route.workflow, TRIGGER_PRINCIPAL, route.max_concurrent, route.overlap) != Admit.START:
            log.warning("trigger %s -> %s: message %s skipped, %d runs of it are unfinished (overlap: %s)",
                        topic, route.workflow, msg.id, route.max_concurrent or 0, route.overlap)
            continue
        try:
            ex = ex_.submit(route.workflow, render_input(route.input, msg), mode="async",
                            idempotency_key=dedup_key(source_topic, msg, route.workflow),
                            principal=TRIGGER_PRINCIPAL, trigger_hops=hops)
        except Transient:
            raise
        except WfxError as exc:
            log.error("trigger %s -> %s failed on message %s: %s", topic, route.workflow, msg.id, exc)
            continue
        started.append(ex.id)
    return tuple(started)


def render_input(template: Any, msg: Message) -> Any:
    """The input of a triggered run: the message itself, or ``template`` with its references."""
    view = msg.view()
    if template is None:
        return view
    return _render(template, view)


def _render(value: Any, view: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, view) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, view) for v in value]
    if isinstance(value, str) and value.startswith("${message") and value.endswith("}"):
        found = _path(view, value[2:-1].split(".")[1:])
        return None if found is _MISSING else found
    return value


def _lookup(key: str, attributes: dict[str, str], payload: Any) -> Any:
    head, _, rest = key.partition(".")
    if head == "attributes" and rest:
        return attributes.get(rest, _MISSING)
    if head == "data" and rest:
        return _path(payload, rest.split("."))
    if key in attributes:
        return attributes[key]
    return _path(payload, [key])


def _path(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _equal(got: Any, want: Any) -> bool:
    if got is _MISSING:
        return False
    if isinstance(want, list):
        return any(_equal(got, w) for w in want)
    if got == want:
        return True
    # Attributes are strings: compare a non-string expectation in its YAML spelling.
    return isinstance(got, str) and got == _yaml_text(want)


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)
