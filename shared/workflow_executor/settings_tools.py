"""The operator's tool settings (agents' tools and ``tool:`` steps): roots, allow-lists, limits.

Parsed by ``Settings.from_env`` from the environment it was handed (this module reads no
environment itself). Everything is closed unless listed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidArgument
from .settings_tools_data import DataToolSettings, parse_named_urls


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class ToolSettings:
    """What agents' tools may reach (agents/tools): everything is closed unless listed here."""

    modules: tuple[str, ...] = ()            # WFX_TOOL_MODULES: modules that add tool types
    fs_roots: tuple[tuple[str, Path], ...] = ()  # WFX_FS_ROOTS: name=path (or path: its basename)
    s3_allow: tuple[str, ...] = ()           # WFX_S3_ALLOW: bucket or bucket/prefix
    s3_endpoint_url: str | None = None       # WFX_S3_ENDPOINT_URL (a local S3 such as MinIO)
    http_allow: tuple[str, ...] = ()         # WFX_HTTP_ALLOW: host, host:port or *.domain
    mcp_allow: tuple[str, ...] = ()          # WFX_MCP_ALLOW: URL prefixes
    # WFX_MCP_HEADER_ENV: variables mcpremote headers may name as "${VAR}"; the values of those set
    header_env_allow: frozenset[str] = frozenset()
    header_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 30.0                  # WFX_TOOL_TIMEOUT_S: one remote call
    max_result_bytes: int = 262_144          # WFX_TOOL_MAX_RESULT_BYTES: one tool result
    max_children: int = 10                   # WFX_TOOL_MAX_CHILDREN: workflows one agent step may run
    # message queue tools: WFX_MQ_TOPICS (names a document may publish to), WFX_MQ_SUBSCRIPTIONS
    # (name or name=topic: what a consumer may read; embedded, the topic it reads, default its name)
    mq_topics: tuple[str, ...] = ()
    mq_subscriptions: tuple[tuple[str, str], ...] = ()
    mq_max_message_bytes: int = 65_536       # WFX_MQ_MAX_MESSAGE_BYTES: one published message
    tasklist_max_tasks: int = 1000           # WFX_TASKLIST_MAX_TASKS: tasks one caller may keep
    # bigquery_vector_search: the tables it may search (dataset or dataset.table), where they live,
    # and the embedding model of queries (on the default provider unless WFX_EMBEDDING_PROVIDER)
    bq_datasets: tuple[str, ...] = ()        # WFX_BQ_DATASETS
    bq_project: str | None = None            # WFX_BQ_PROJECT (else WFX_GCP_PROJECT / GOOGLE_CLOUD_PROJECT)
    bq_location: str | None = None           # WFX_BQ_LOCATION
    bq_endpoint: str | None = None           # WFX_BQ_ENDPOINT: a BigQuery emulator's URL (anonymous)
    vector_backend: str = "embedded"         # WFX_VECTOR_BACKEND: embedded | bigquery
    vector_index: Path | None = None         # WFX_VECTOR_INDEX: the embedded index (default $WFX_HOME/vectors.db)
    vector_max_rows: int = 20_000            # WFX_VECTOR_MAX_ROWS: rows one embedded search scans
    embedding_model: str = "text-embedding-3-small"  # WFX_EMBEDDING_MODEL
    embedding_provider: str | None = None    # WFX_EMBEDDING_PROVIDER
    # WFX_TOOL_SERVERS: type=MCP URL (each also on WFX_MCP_ALLOW): ``type: X`` is that server's tools
    servers: Mapping[str, str] = field(default_factory=dict)
    data: DataToolSettings = field(default_factory=DataToolSettings)  # sql_database, github, gcp_environment

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ToolSettings:
        roots: list[tuple[str, Path]] = []
        for item in _list(env.get("WFX_FS_ROOTS")):
            name, sep, path = item.partition("=")
            p = Path(path if sep else name).expanduser()
            roots.append((name.strip() if sep else (p.name or "root"), p))
        names = [n for n, _ in roots]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"WFX_FS_ROOTS names a root twice ({', '.join(names)})",
                                  fix="give each root its own name: name=/path,other=/path2")
        header_vars = _list(env.get("WFX_MCP_HEADER_ENV"))
        topics = tuple(_queue_name(t, "WFX_MQ_TOPICS") for t in _list(env.get("WFX_MQ_TOPICS")))
        subs: list[tuple[str, str]] = []
        for item in _list(env.get("WFX_MQ_SUBSCRIPTIONS")):
            name, _, topic = item.partition("=")
            subs.append((_queue_name(name, "WFX_MQ_SUBSCRIPTIONS"),
                         _queue_name(topic or name, "WFX_MQ_SUBSCRIPTIONS")))
        bq_project = env.get("WFX_BQ_PROJECT") or env.get("WFX_GCP_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
        # BigQuery when the operator names its project (or an emulator); else the embedded index
        backend = env.get("WFX_VECTOR_BACKEND") or ("bigquery" if env.get("WFX_BQ_PROJECT") else "embedded")
        if backend not in ("embedded", "bigquery"):
            raise InvalidArgument(f"WFX_VECTOR_BACKEND={backend!r} is not supported", fix="use embedded or bigquery")
        if backend == "bigquery" and not bq_project:
            raise InvalidArgument("WFX_VECTOR_BACKEND=bigquery needs a project",
                                  fix="set WFX_BQ_PROJECT (or WFX_GCP_PROJECT)")
        return cls(
            modules=_list(env.get("WFX_TOOL_MODULES")),
            fs_roots=tuple(roots),
            s3_allow=_list(env.get("WFX_S3_ALLOW")),
            s3_endpoint_url=env.get("WFX_S3_ENDPOINT_URL") or None,
            http_allow=tuple(h.lower() for h in _list(env.get("WFX_HTTP_ALLOW"))),
            mcp_allow=_list(env.get("WFX_MCP_ALLOW")),
            header_env_allow=frozenset(header_vars),
            header_env={k: env[k] for k in header_vars if k in env},
            timeout_s=float(env.get("WFX_TOOL_TIMEOUT_S", "30")),
            max_result_bytes=int(env.get("WFX_TOOL_MAX_RESULT_BYTES", "262144")),
            max_children=int(env.get("WFX_TOOL_MAX_CHILDREN", "10")),
            mq_topics=topics,
            mq_subscriptions=tuple(subs),
            mq_max_message_bytes=int(env.get("WFX_MQ_MAX_MESSAGE_BYTES", "65536")),
            tasklist_max_tasks=int(env.get("WFX_TASKLIST_MAX_TASKS", "1000")),
            bq_datasets=_list(env.get("WFX_BQ_DATASETS")),
            bq_project=bq_project or None,
            bq_location=env.get("WFX_BQ_LOCATION") or None,
            bq_endpoint=env.get("WFX_BQ_ENDPOINT") or None,
            vector_backend=backend,
            vector_index=Path(env["WFX_VECTOR_INDEX"]).expanduser() if env.get("WFX_VECTOR_INDEX") else None,
            vector_max_rows=int(env.get("WFX_VECTOR_MAX_ROWS", "20000")),
            embedding_model=env.get("WFX_EMBEDDING_MODEL") or "text-embedding-3-small",
            embedding_provider=env.get("WFX_EMBEDDING_PROVIDER") or None,
            servers=parse_named_urls(env.get("WFX_TOOL_SERVERS"), "WFX_TOOL_SERVERS"),
            data=DataToolSettings.from_env(env),
        )


_QUEUE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._~+%-]{0,200}$")


def _queue_name(name: str, setting: str) -> str:
    """A topic or subscription short name (Pub/Sub's id rules). Errors: InvalidArgument."""
    name = name.strip()
    if not _QUEUE_NAME.match(name):
        raise InvalidArgument(f"{setting} names {name[:80]!r}, which is not a topic or subscription name",
                              fix="use short names (a letter, then letters, digits, . _ - ~ + %), "
                                  "never a project path; the project comes from WFX_GCP_PROJECT")
    return name
