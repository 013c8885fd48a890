"""The ONE place that picks adapters from settings. Cloud client libraries are imported
lazily inside the branch that needs them (cold start matters on Cloud Functions)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast

from . import operator_code, waiting
from .adapters.local import LocalEventBus, LocalTaskQueue
from .agents.toolbox import ToolHost
from .engine.functions import FunctionRegistry
from .engine.runner import Engine, EngineConfig
from .errors import Transient, WfxError
from .models import Budget
from .observe import observed
from .ports import (
    AgentRunner,
    EventBus,
    ExecutionStore,
    JobRunner,
    McpBridge,
    TaskQueue,
    TaskRequest,
    VectorIndex,
    WorkflowRegistry,
)
from .ports_tools import MessageQueue, QueueMessage, ToolRecords
from .settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    store: ExecutionStore
    registry: WorkflowRegistry
    engine: Engine
    events: EventBus
    queue: TaskQueue | None = None
    jobs: JobRunner | None = None
    # where hashed API keys come from besides settings (the cloud's secret), re-read by the key ring
    key_source: Callable[[], str | None] | None = None
    # creates a trigger topic (short name) where topics are not managed by Terraform (emulators)
    ensure_topic: Callable[[str], None] | None = None
    closers: list[Any] = field(default_factory=list)
    # the Executor built on these services (api.Executor registers the first one): the MCP app and
    # starts made from inside a run (triggers of a publish, mcp_call local://) use it
    executor: Any = None

    def close(self) -> None:
        for c in reversed(self.closers):
            c()
        self.closers.clear()


def _stores(settings: Settings) -> tuple[ExecutionStore, WorkflowRegistry]:
    if settings.store == "memory":
        from .adapters.memory import MemoryExecutionStore, MemoryWorkflowRegistry

        return MemoryExecutionStore(), MemoryWorkflowRegistry()
    if settings.store == "firestore":
        from .adapters.firestore import firestore_backends  # type: ignore[import-not-found,unused-ignore]

        stores: tuple[ExecutionStore, WorkflowRegistry] = firestore_backends(settings)
        return stores
    from .adapters.sqlite import SqliteExecutionStore
    from .adapters.sqlite_registry import SqliteWorkflowRegistry

    settings.ensure_home()
    sync: Literal["NORMAL", "FULL"] = "FULL" if settings.sqlite_synchronous == "FULL" else "NORMAL"
    return (SqliteExecutionStore(settings.db_path, synchronous=sync),
            SqliteWorkflowRegistry(settings.db_path))


def _observed(settings: Settings, store: ExecutionStore) -> tuple[ExecutionStore, Any]:
    """The store wrapped with the observers of finished runs: the hourly aggregates always, and
    OpenTelemetry only when an OTLP endpoint is set or WFX_TRACE_EXPORTER=cloud_trace (nothing of
    it is imported otherwise; the Cloud Trace exporter only for the latter)."""
    if settings.log_json:
        from .logs import configure

        configure(settings.gcp_project)
    to_cloud_trace = settings.trace_exporter == "cloud_trace"
    if not settings.otel_endpoint and not to_cloud_trace:
        return observed(store), None
    spans = None
    if to_cloud_trace:
        from .adapters.cloud_trace import span_exporter

        spans = span_exporter(settings.gcp_project)
    from .telemetry import Telemetry

    telemetry = Telemetry(store, spans=spans, metrics=bool(settings.otel_endpoint))
    return observed(store, [telemetry]), telemetry


def _events(settings: Settings) -> EventBus:
    if settings.events == "pubsub":
        from .adapters.pubsub import PubSubEventBus  # type: ignore[import-not-found,unused-ignore]

        bus: EventBus = PubSubEventBus(settings)
        return bus
    return LocalEventBus()


def _agents(settings: Settings) -> AgentRunner | None:
    """The openai-client runner when some endpoint is configured; None makes agent steps fail
    with NoModelConfigured, which names what to configure."""
    from .agents import providers

    if not providers.configured(settings):
        return None
    from .agents.runner import OpenAIAgentRunner

    return OpenAIAgentRunner(settings)


class _Once(Generic[T]):
    """A backend made on first use (cold start stays cheap) and closed with the services."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: list[T] = []

    def __call__(self) -> T:
        with self._lock:
            if not self._made:
                self._made.append(self._make())
            return self._made[0]

    def close(self) -> None:
        with self._lock:
            made, self._made = self._made, []
        for obj in made:
            close = getattr(obj, "close", None)
            if close:
                close()


def _vectors(settings: Settings) -> VectorIndex:
    """bigquery_vector_search's backend: BigQuery (WFX_VECTOR_BACKEND=bigquery, the default when
    WFX_BQ_PROJECT is set) or the embedded SQLite index (WFX_VECTOR_INDEX, else under WFX_HOME)."""
    tools = settings.tools
    if tools.vector_backend == "bigquery" and tools.bq_project:
        from .adapters.bigquery_vectors import BigQueryVectorIndex

        bq: VectorIndex = BigQueryVectorIndex(tools.bq_project, location=tools.bq_location,
                                              endpoint=tools.bq_endpoint, timeout_s=tools.timeout_s)
        return bq
    from .adapters.sqlite_vectors import SqliteVectorIndex

    return SqliteVectorIndex(tools.vector_index or settings.home / "vectors.db", tools.vector_max_rows)


def _tools(settings: Settings, functions: FunctionRegistry, backends: ToolBackends, closers: list[Any]) -> ToolHost:
    def model() -> tuple[Any, str] | None:  # the meta-tool's generator, when a model is configured
        from .generator.service import model_for

        return model_for(settings)

    def make_embedder() -> Any:
        from .agents.embeddings import Embedder

        return Embedder(settings)

    vectors: _Once[VectorIndex] = _Once(lambda: _vectors(settings))
    embedder: _Once[Any] = _Once(make_embedder)
    closers.extend([vectors.close, embedder.close])
    read: dict[str, str | None] = {}  # per registry: each secret is read once

    def secret(name: str) -> str | None:  # data tools' DSNs and tokens in the cloud, read on first use
        if name not in read:
            from .adapters.secret_manager import read_secret

            read[name] = read_secret(name)
        return read[name]

    def registry() -> ToolHost:
        from .agents.tools.base import ToolEnv
        from .agents.tools.registry import ToolRegistry

        return ToolRegistry.from_env(ToolEnv(settings.tools, functions, model=model, records=backends.records,
                                             queue=backends.queue, vectors=vectors, secret=secret,
                                             embed=lambda p, m, texts: embedder()(p, m, texts)))

    return cast(ToolHost, _LazyTools(_Once(registry)))


class _LazyTools:
    """The tool registry, built (and its tool modules imported) on first use: a run without agents
    or tool steps - and the isolated job of one - never pays for them."""

    def __init__(self, made: _Once[ToolHost]) -> None:
        self._made = made

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_made":  # copy/pickle probe an instance without __init__
            raise AttributeError(name)
        return getattr(self._made(), name)

    def __copy__(self) -> Any:
        """A copy of the registry itself (a caller that adds kinds to it leaves this one as it is)."""
        import copy

        return copy.copy(self._made())


class ToolBackends:
    """The tasklist's records and the message queue tools' queue, made on first use (a process
    that runs no such tool opens nothing) on the backend of the store and events settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services | None = None  # set by build: a publish starts triggered workflows
        self.records: _Once[ToolRecords] = _Once(lambda: _records(settings))
        self.queue: _Once[MessageQueue] = _Once(lambda: _message_queue(settings, self._on_publish))
        self._executor: Any = None
        self._lock = threading.Lock()

    def _on_publish(self, topic: str, message: QueueMessage) -> None:
        """An embedded publish starts the workflows triggered by it, as the events function does."""
        from .triggers import Message, start_triggered

        services = self.services
        if services is None:
            return
        msg = Message(message.id, topic, message.attributes, message.data, message.published_at_s,
                      publish_time=repr(message.published_at_s))
        try:
            start_triggered(services, lambda: self._executor_for(services), msg, topic, topic)
        except WfxError as exc:  # the message is published; a trigger that cannot start is logged
            log.error("message %s on %s: triggered workflows did not start: %s", message.id, topic, exc)

    @staticmethod
    def _executor_for(services: Services) -> Any:
        if services.executor is None:  # every entry point builds one; this process built none
            raise Transient("this process has no Executor to start triggered workflows",
                            fix="build services through an entry point (wfx, the functions, the job)")
        return services.executor

    def close(self) -> None:
        self.records.close()
        self.queue.close()


def _records(settings: Settings) -> ToolRecords:
    if settings.store == "memory":
        from .adapters.tool_records import MemoryToolRecords

        return MemoryToolRecords()
    if settings.store == "firestore":
        from .adapters.firestore import client
        from .adapters.firestore_records import FirestoreToolRecords

        return FirestoreToolRecords(client(settings.gcp_project, settings.firestore_database), owns_client=True,
                                    rpc_timeout_s=settings.firestore_timeout_s or None)
    from .adapters.tool_records import SqliteToolRecords

    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteToolRecords(settings.db_path)


def _message_queue(settings: Settings, on_publish: Callable[[str, QueueMessage], None]) -> MessageQueue:
    subscriptions = dict(settings.tools.mq_subscriptions)
    if settings.events == "pubsub":  # push delivers a trigger topic's messages to the events function
        from .adapters.pubsub_queue import PubSubMessageQueue

        return PubSubMessageQueue(settings.gcp_project, settings.trigger_topic_prefix, subscriptions)
    from .adapters.sqlite_queue import SqliteMessageQueue

    if settings.store == "memory":
        return SqliteMessageQueue(":memory:", subscriptions, on_publish)
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteMessageQueue(settings.db_path, subscriptions, on_publish)


def build(settings: Settings | None = None, *, with_queue: bool = True, measure_process: bool = False) -> Services:
    """Wire one set of services. ``with_queue=False`` for processes that only run what they
    are handed (the worker function, the isolated job); ``measure_process`` for the job,
    whose own CPU time and peak memory are the run's."""
    settings = settings or Settings.from_env()
    operator_code.activate(settings)  # before any allow-listed module is imported
    store, registry = _stores(settings)
    store, telemetry = _observed(settings, store)
    events = _events(settings)
    functions = FunctionRegistry(settings.function_modules)
    backends = ToolBackends(settings)
    tool_closers: list[Any] = []
    engine = Engine(
        store, registry, events=events,
        functions=functions,
        agents=_agents(settings),
        tools=_tools(settings, functions, backends, tool_closers),
        config=EngineConfig(lease_ttl_s=settings.lease_ttl_s, max_parallel=settings.max_parallel,
                            max_child_depth=settings.max_child_depth, allowed_env=settings.allowed_env,
                            environ=dict(settings.environ), measure_process=measure_process,
                            max_output_bytes=settings.max_output_bytes,
                            max_render_chars=settings.max_render_chars,
                            max_stray_threads=settings.max_stray_threads,
                            key_daily=Budget(max_tokens=settings.key_daily_max_tokens,
                                             max_cost_usd=settings.key_daily_max_cost_usd),
                            completion_cap=settings.agent_max_completion_tokens,
                            store_outage_max_s=settings.store_outage_max_s),
    )
    services = Services(settings=settings, store=store, registry=registry, engine=engine, events=events,
                        closers=tool_closers)
    engine.mcp = _LazyMcp(services)
    engine.on_park = lambda ex: waiting.arm(services, ex)  # a parked run's timer (waiting.py)
    backends.services = services
    if settings.api_keys_secret and not settings.api_keys_json:
        secret = settings.api_keys_secret

        def read_keys() -> str | None:  # lazily, on the first request: cold start stays cheap
            from .adapters.secret_manager import read_secret

            return read_secret(secret)

        services.key_source = read_keys
    if settings.trigger_push_url and settings.events == "pubsub" and settings.gcp_project:
        push_url, project, prefix = settings.trigger_push_url, settings.gcp_project, settings.trigger_topic_prefix

        def ensure_topic(name: str) -> None:
            from .adapters.pubsub_topics import ensure_push_topic

            full = name if name.startswith("projects/") else f"projects/{project}/topics/{prefix}{name}"
            ensure_push_topic(full, push_url)

        services.ensure_topic = ensure_topic
    services.closers.append(backends.close)
    if telemetry is not None:
        services.closers.append(telemetry.close)
    for obj in (events, store, registry, engine.agents):  # the event bus flushes what it has batched
        close = getattr(obj, "close", None)
        if close:
            services.closers.append(close)
    if with_queue:
        services.queue = _queue(settings, services)
        services.jobs = _jobs(settings, store)
        if hasattr(services.jobs, "close"):  # the Cloud Run runner's watchers stop
            services.closers.append(services.jobs.close)
    return services


class _LazyMcp:
    """The engine's MCP bridge (mcp_call steps), imported on first use: cold start stays cheap."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _bridge(self) -> McpBridge:
        from .mcp.local import LocalMcp

        return LocalMcp(self.services)

    def local(self, run: Any, server: str, tool: str, arguments: Mapping[str, Any]) -> Any:
        return self._bridge().local(run, server, tool, arguments)

    def remote(self, run: Any, url: str, tool: str, arguments: Mapping[str, Any],
               headers: Mapping[str, str]) -> Any:
        return self._bridge().remote(run, url, tool, arguments, headers)


def _jobs(settings: Settings, store: ExecutionStore) -> JobRunner:
    if settings.jobs == "cloud_run":
        from .adapters.cloud_run import CloudRunJobRunner

        runner: JobRunner = CloudRunJobRunner(settings, store)  # it watches its job executions
        return runner
    from .adapters.subprocess_jobs import SubprocessJobRunner

    return SubprocessJobRunner(settings, store)  # it watches its jobs and ends what they leave


def _queue(settings: Settings, services: Services) -> TaskQueue:
    if settings.queue == "cloud_tasks":
        from .adapters.cloud_tasks import CloudTasksQueue  # type: ignore[import-not-found,unused-ignore]

        cloud = CloudTasksQueue(settings)
        services.closers.append(cloud.close)
        q: TaskQueue = cloud
        return q
    from .worker import handle_task

    local = LocalTaskQueue(lambda req: handle_task(services, req), workers=settings.queue_workers)
    services.closers.append(lambda: local.close(wait=False))
    return local


__all__ = ["Services", "Settings", "TaskRequest", "build"]
