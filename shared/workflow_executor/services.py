"""The ONE place that picks adapters from settings. Cloud client libraries are imported
lazily inside the branch that needs them (cold start matters on Cloud Functions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .adapters.local import LocalEventBus, LocalTaskQueue
from .agents.toolbox import ToolHost
from .engine.functions import FunctionRegistry
from .engine.runner import Engine, EngineConfig
from .models import Budget
from .ports import (
    AgentRunner,
    EventBus,
    ExecutionStore,
    JobRunner,
    McpBridge,
    TaskQueue,
    TaskRequest,
    WorkflowRegistry,
)
from .settings import Settings


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

    settings.home.mkdir(parents=True, exist_ok=True)
    sync: Literal["NORMAL", "FULL"] = "FULL" if settings.sqlite_synchronous == "FULL" else "NORMAL"
    return (SqliteExecutionStore(settings.db_path, synchronous=sync),
            SqliteWorkflowRegistry(settings.db_path))


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


def _tools(settings: Settings, functions: FunctionRegistry) -> ToolHost:
    from .agents.tools.base import ToolEnv
    from .agents.tools.registry import ToolRegistry

    def model() -> tuple[Any, str] | None:  # the meta-tool's generator, when a model is configured
        from .generator.service import model_for

        return model_for(settings)

    return ToolRegistry.from_env(ToolEnv(settings.tools, functions, model=model))


def build(settings: Settings | None = None, *, with_queue: bool = True, measure_process: bool = False) -> Services:
    """Wire one set of services. ``with_queue=False`` for processes that only run what they
    are handed (the worker function, the isolated job); ``measure_process`` for the job,
    whose own CPU time and peak memory are the run's."""
    settings = settings or Settings.from_env()
    store, registry = _stores(settings)
    events = _events(settings)
    functions = FunctionRegistry(settings.function_modules)
    engine = Engine(
        store, registry, events=events,
        functions=functions,
        agents=_agents(settings),
        tools=_tools(settings, functions),
        config=EngineConfig(lease_ttl_s=settings.lease_ttl_s, max_parallel=settings.max_parallel,
                            max_child_depth=settings.max_child_depth, allowed_env=settings.allowed_env,
                            environ=dict(settings.environ), measure_process=measure_process,
                            max_output_bytes=settings.max_output_bytes,
                            max_render_chars=settings.max_render_chars,
                            max_stray_threads=settings.max_stray_threads,
                            key_daily=Budget(max_tokens=settings.key_daily_max_tokens,
                                             max_cost_usd=settings.key_daily_max_cost_usd),
                            completion_cap=settings.agent_max_completion_tokens),
    )
    services = Services(settings=settings, store=store, registry=registry, engine=engine, events=events)
    engine.mcp = _LazyMcp(services)
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
