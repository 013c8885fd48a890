"""Settings, read once from the environment (``WFX_*``). Nothing else reads the environment
for configuration; ``services.build`` turns these into adapters."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidArgument
from .profiles import Profile, check_default, parse_profiles
from .settings_llm import DEFAULT_PRICES, ModelPrice, ProviderSettings, parse_prices, parse_providers
from .settings_tools import ToolSettings


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".wfx")
    store: str = "sqlite"            # sqlite | memory | firestore
    queue: str = "local"             # local | cloud_tasks
    events: str = "local"            # local | pubsub
    jobs: str = "subprocess"         # subprocess | cloud_run
    sqlite_synchronous: str = "NORMAL"
    function_modules: tuple[str, ...] = ()
    allowed_env: frozenset[str] = frozenset()
    workflow_roots: tuple[Path, ...] = ()
    queue_workers: int = 4
    max_parallel: int = 8
    lease_ttl_s: float = 60.0
    # a runner whose checkpoint meets an unreachable store retries for this long before it gives
    # the pass up (redelivered later); the run's deadline excludes the time it waited
    store_outage_max_s: float = 600.0
    # the sweeper (sweeper.py): how often `wfx serve` sweeps (0: never), and how long a run may
    # sit queued (or running with its lease given up) before it is handed to a runner again
    sweep_interval_s: float = 60.0
    sweep_queued_after_s: float = 120.0
    max_child_depth: int = 5
    wait_max_s: float = 30 * 86400.0  # the longest wait_for timeout / sleep a workflow may set (WFX_WAIT_MAX_S)
    event_match_max: int = 100  # the most waiting runs one unaddressed event message resumes (WFX_EVENT_MATCH_MAX)
    # the publish loop guard: a run started by a message may lie at most this many
    # publish -> trigger links behind a run started otherwise (WFX_TRIGGER_MAX_HOPS)
    trigger_max_hops: int = 5
    schedule_min_interval_s: float = 60.0  # no schedule may fire more often (WFX_SCHEDULE_MIN_INTERVAL_S)
    max_body_bytes: int = 1_048_576
    worker_secret: str | None = field(default=None, repr=False)
    # MCP auth: hashed keys (JSON) from a file, or inline in WFX_API_KEYS (never plain keys)
    api_keys_file: Path | None = None
    api_keys_json: str | None = field(default=None, repr=False)
    # cloud
    gcp_project: str | None = None
    firestore_database: str = "(default)"
    # one Firestore call, retries included, fails as StoreUnavailable after this long (0: the
    # client's own deadlines, 60 s per call and again per retry)
    firestore_timeout_s: float = 0.0
    tasks_queue: str | None = None
    worker_url: str | None = None
    tasks_service_account: str | None = None
    events_topic: str | None = None
    # the Pub/Sub event bus while the API fails: events held for later (past it the oldest are
    # dropped), and the longest a request waits for its own events then
    events_outbox_max: int = 10_000
    events_outage_wait_s: float = 0.5
    run_job: str | None = None
    api_keys_secret: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    # OpenTelemetry: on when an OTLP endpoint is set (the standard OTEL_* variables configure it)
    otel_endpoint: str | None = None
    # WFX_TRACE_EXPORTER: otlp (the default, to otel_endpoint) or cloud_trace (straight to Cloud Trace)
    trace_exporter: str = "otlp"
    log_json: bool = False  # WFX_LOG_FORMAT=json: one JSON object per log line (Cloud Logging's fields)
    # cloud backends (issue 4)
    retention_days: float = 30.0     # finished executions expire (Firestore TTL field expire_at)
    tasks_emulator_host: str | None = None   # host:port of a local Cloud Tasks emulator (insecure gRPC)
    run_emulator_host: str | None = None     # host:port of a local Cloud Run Jobs emulator (insecure gRPC)
    tasks_dispatch_deadline_s: float = 1800.0  # per task; the worker hands over before it runs out
    # an enqueue waits this long; one that failed is retried in the background this long (then the sweeper)
    tasks_enqueue_wait_s: float = 0.5
    tasks_enqueue_retry_s: float = 120.0

    # deployed trigger topics are named <prefix><name>; workflows' triggers say just <name>
    trigger_topic_prefix: str = ""
    # the longest sync run a request may ask for (the mcp function's timeout less a margin); 0: no cap
    sync_max_s: float = 0.0
    # isolated mode, locally: limits of the subprocess that runs one execution
    job_memory_mb: int = 2048
    job_cpu_s: int = 3600
    # execution profiles (profiles.py): where an isolated run goes by its target_instance
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    default_profile: str | None = None
    # the operator's own functions and tools (operator_code.py): a folder put on the import path
    operator_code: Path | None = None
    # the CLI as a client of an endpoint (wfx --url): WFX_URL and the key it sends, WFX_API_KEY
    remote_url: str | None = None
    # emulator stack only: registering a trigger creates its topic, pushed to this events URL
    trigger_push_url: str | None = None
    remote_api_key: str | None = field(default=None, repr=False)
    # untrusted data: the largest step output (JSON bytes) and ${...} rendering (characters)
    max_output_bytes: int = 524_288
    max_render_chars: int = 1_048_576
    # threads of timed-out steps still running (a thread cannot be killed); at the limit a step
    # with a timeout fails at once. /healthz reports the count.
    max_stray_threads: int = 32
    # wfx serve: a connection that sends nothing for this long is closed; connections beyond the
    # cap get 503 (GET /healthz is still answered)
    http_read_timeout_s: float = 20.0
    http_max_connections: int = 100
    # LLM agents (settings_llm.py): the default endpoint, named providers, default model, prices
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str | None = None
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    prices: Mapping[str, ModelPrice] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    agent_max_tool_turns: int = 10
    agent_call_timeout_s: float = 120.0   # one model call, unless the agent sets timeout
    agent_backoff_s: float = 1.0          # first retry delay of a model call; doubles, capped at 30 s
    # the reply cap sent under a budget when the agent sets no max_tokens (bounds what a call can cost)
    agent_max_completion_tokens: int = 4096
    key_daily_max_tokens: int | None = None     # each principal's LLM tokens per UTC day, all its runs
    key_daily_max_cost_usd: float | None = None  # the same in USD
    tools: ToolSettings = field(default_factory=ToolSettings)

    @property
    def db_path(self) -> Path:
        return self.home / "wfx.db"

    def ensure_home(self) -> Path:
        """Create ``home`` (WFX_HOME) if missing and return it. Errors: InvalidArgument naming
        WFX_HOME and the fix when it cannot be a directory (a file is there, or no permission)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidArgument(f"WFX_HOME {self.home} is not a directory (a file is in the way)",
                                  fix="point WFX_HOME at a directory, or move that file away",
                                  field="WFX_HOME") from None
        except OSError as exc:
            raise InvalidArgument(f"WFX_HOME {self.home} cannot be created: {exc.strerror}",
                                  fix="point WFX_HOME at a directory this user may write", field="WFX_HOME") from None
        return self.home

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``WFX_*``. Errors: InvalidArgument naming the variable and the accepted values."""
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("WFX_HOME") or ".wfx")
        choices = {"WFX_STORE": ("sqlite", "memory", "firestore"), "WFX_QUEUE": ("local", "cloud_tasks"),
                   "WFX_EVENTS": ("local", "pubsub"), "WFX_JOBS": ("subprocess", "cloud_run"),
                   "WFX_SQLITE_SYNCHRONOUS": ("NORMAL", "FULL"), "WFX_TRACE_EXPORTER": ("otlp", "cloud_trace")}
        for name, allowed in choices.items():
            if name in env and env[name] not in allowed:
                raise InvalidArgument(f"{name}={env[name]!r} is not supported",
                                      fix=f"use one of: {', '.join(allowed)}")
        roots = _list(env.get("WFX_WORKFLOW_ROOTS")) or (str(home / "workflows"),)
        allowed_env = frozenset(_list(env.get("WFX_ENV_ALLOW")))
        profiles = parse_profiles(env.get("WFX_PROFILES"))
        try:
            return cls(
                home=home,
                store=env.get("WFX_STORE", "sqlite"),
                queue=env.get("WFX_QUEUE", "local"),
                events=env.get("WFX_EVENTS", "local"),
                jobs=env.get("WFX_JOBS", "subprocess"),
                sqlite_synchronous=env.get("WFX_SQLITE_SYNCHRONOUS", "NORMAL"),
                function_modules=_list(env.get("WFX_FUNCTION_MODULES")),
                allowed_env=allowed_env,
                workflow_roots=tuple(Path(r) for r in roots),
                queue_workers=int(env.get("WFX_QUEUE_WORKERS", "4")),
                max_parallel=int(env.get("WFX_MAX_PARALLEL", "8")),
                lease_ttl_s=float(env.get("WFX_LEASE_TTL_S", "60")),
                store_outage_max_s=float(env.get("WFX_STORE_OUTAGE_MAX_S", "600")),
                sweep_interval_s=float(env.get("WFX_SWEEP_INTERVAL_S", "60")),
                sweep_queued_after_s=float(env.get("WFX_SWEEP_QUEUED_AFTER_S", "120")),
                max_child_depth=int(env.get("WFX_MAX_CHILD_DEPTH", "5")),
                wait_max_s=float(env.get("WFX_WAIT_MAX_S", str(30 * 86400))),
                event_match_max=int(env.get("WFX_EVENT_MATCH_MAX", "100")),
                trigger_max_hops=int(env.get("WFX_TRIGGER_MAX_HOPS", "5")),
                schedule_min_interval_s=float(env.get("WFX_SCHEDULE_MIN_INTERVAL_S", "60")),
                max_body_bytes=int(env.get("WFX_MAX_BODY_BYTES", "1048576")),
                worker_secret=env.get("WFX_WORKER_SECRET"),
                api_keys_file=Path(env.get("WFX_API_KEYS_FILE") or home / "keys.json"),
                api_keys_json=env.get("WFX_API_KEYS"),
                gcp_project=env.get("WFX_GCP_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT"),
                otel_endpoint=(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                               or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None),
                log_json=env.get("WFX_LOG_FORMAT", "").lower() == "json",
                trace_exporter=env.get("WFX_TRACE_EXPORTER", "otlp"),
                firestore_database=env.get("WFX_FIRESTORE_DATABASE", "(default)"),
                firestore_timeout_s=float(env.get("WFX_FIRESTORE_TIMEOUT_S", "0")),
                tasks_queue=env.get("WFX_TASKS_QUEUE"),
                worker_url=env.get("WFX_WORKER_URL"),
                tasks_service_account=env.get("WFX_TASKS_SERVICE_ACCOUNT"),
                events_topic=env.get("WFX_EVENTS_TOPIC"),
                events_outbox_max=int(env.get("WFX_EVENTS_OUTBOX_MAX", "10000")),
                events_outage_wait_s=float(env.get("WFX_EVENTS_OUTAGE_WAIT_S", "0.5")),
                run_job=env.get("WFX_RUN_JOB"),
                api_keys_secret=env.get("WFX_API_KEYS_SECRET"),
                environ={k: env[k] for k in allowed_env if k in env},
                retention_days=float(env.get("WFX_RETENTION_DAYS", "30")),
                tasks_emulator_host=env.get("WFX_TASKS_EMULATOR_HOST") or None,
                run_emulator_host=env.get("WFX_RUN_EMULATOR_HOST") or None,
                tasks_dispatch_deadline_s=float(env.get("WFX_TASKS_DISPATCH_DEADLINE_S", "1800")),
                tasks_enqueue_wait_s=float(env.get("WFX_TASKS_ENQUEUE_WAIT_S", "0.5")),
                tasks_enqueue_retry_s=float(env.get("WFX_TASKS_ENQUEUE_RETRY_S", "120")),
                trigger_topic_prefix=env.get("WFX_TRIGGER_TOPIC_PREFIX", ""),
                sync_max_s=float(env.get("WFX_SYNC_MAX_S", "0")),
                job_memory_mb=int(env.get("WFX_JOB_MEMORY_MB", "2048")),
                job_cpu_s=int(env.get("WFX_JOB_CPU_S", "3600")),
                remote_url=env.get("WFX_URL") or None,
                trigger_push_url=env.get("WFX_TRIGGER_PUSH_URL") or None,
                remote_api_key=env.get("WFX_API_KEY") or None,
                max_output_bytes=int(env.get("WFX_MAX_OUTPUT_BYTES", "524288")),
                max_render_chars=int(env.get("WFX_MAX_RENDER_CHARS", "1048576")),
                max_stray_threads=int(env.get("WFX_MAX_STRAY_THREADS", "32")),
                http_read_timeout_s=float(env.get("WFX_HTTP_READ_TIMEOUT_S", "20")),
                http_max_connections=int(env.get("WFX_HTTP_MAX_CONNECTIONS", "100")),
                openai_api_key=env.get("OPENAI_API_KEY") or None,
                openai_base_url=env.get("OPENAI_BASE_URL") or None,
                model=env.get("WFX_MODEL") or None,
                providers=parse_providers(env.get("WFX_PROVIDERS"), env),
                prices={**DEFAULT_PRICES, **parse_prices(env.get("WFX_PRICES") or "{}", "WFX_PRICES")},
                agent_max_tool_turns=int(env.get("WFX_AGENT_MAX_TOOL_TURNS", "10")),
                agent_call_timeout_s=float(env.get("WFX_AGENT_CALL_TIMEOUT_S", "120")),
                agent_backoff_s=float(env.get("WFX_AGENT_BACKOFF_S", "1")),
                agent_max_completion_tokens=int(env.get("WFX_AGENT_MAX_COMPLETION_TOKENS", "4096")),
                key_daily_max_tokens=_whole(_positive(env, "WFX_KEY_DAILY_MAX_TOKENS")),
                key_daily_max_cost_usd=_positive(env, "WFX_KEY_DAILY_MAX_COST_USD"),
                tools=ToolSettings.from_env(env),
                profiles=profiles,
                default_profile=check_default(profiles, env.get("WFX_DEFAULT_PROFILE")),
                operator_code=operator_code(env),
            )
        except ValueError as exc:
            raise InvalidArgument(f"a numeric WFX_* setting is not a number: {exc}") from None



def operator_code(env: Mapping[str, str]) -> Path | None:
    """WFX_OPERATOR_CODE, else ``./operator_code`` when that folder exists (relative paths are
    kept as given: the job image and the functions' source root resolve them the same way)."""
    raw = (env.get("WFX_OPERATOR_CODE") or "").strip()
    if raw:
        return Path(raw)
    return Path("operator_code") if Path("operator_code").is_dir() else None


def _positive(env: Mapping[str, str], name: str) -> float | None:
    """An optional positive number (unset or empty: None). Errors: InvalidArgument."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise InvalidArgument(f"{name} must be a positive number, got {raw[:40]!r}",
                              fix=f"set {name} to e.g. 100000, or leave it unset for no limit")
    return value


def _whole(value: float | None) -> int | None:
    return None if value is None else max(1, int(value))
