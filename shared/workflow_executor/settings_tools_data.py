"""The operator's settings of the data tools (``sql_database``, ``github``, ``gcp_environment``):
databases by name, the GitHub token and repository allow-list, the safe runtime facts.

Parsed by ``ToolSettings.from_env`` from the mapping it was handed (reads no environment itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import InvalidArgument

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# environment variables gcp_environment may report (runtime facts, never credentials); any
# other variable's value stays out of its answers
SAFE_ENV = ("K_SERVICE", "K_REVISION", "K_CONFIGURATION", "CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION",
            "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_COUNT", "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE",
            "FUNCTION_NAME", "FUNCTION_REGION", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT",
            "GOOGLE_CLOUD_REGION", "GAE_APPLICATION", "GAE_SERVICE", "GAE_VERSION", "GAE_ENV",
            "GAE_RUNTIME", "WFX_GCP_PROJECT", "WFX_GCP_REGION")
# facts that are only reported as present or absent (their values may be addresses)
PRESENCE_ENV = ("KUBERNETES_SERVICE_HOST",)


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def parse_named_urls(value: str | None, setting: str) -> dict[str, str]:
    """``name=url,other=url`` as a mapping. A piece that does not start with ``name=`` belongs
    to the URL before it (a comma inside a URL). Errors: InvalidArgument naming the setting."""
    out: dict[str, str] = {}
    last: str | None = None
    for piece in (value or "").split(","):
        name, sep, url = piece.partition("=")
        if sep and NAME.match(name.strip()) and "/" not in name and ":" not in name:
            last = name.strip()
            if last in out:
                raise InvalidArgument(f"{setting} names '{last}' twice",
                                      fix=f"give each entry its own name in {setting}")
            out[last] = url.strip()
        elif last is not None and piece:
            out[last] += "," + piece
        elif piece.strip():
            raise InvalidArgument(f"{setting} has an entry without a name", fix=f"write {setting}=name=url,other=url")
    for name, url in out.items():
        if not url:
            raise InvalidArgument(f"{setting} gives '{name}' no URL", fix=f"write {setting}={name}=<url>")
    return out


@dataclass(frozen=True)
class DataToolSettings:
    """What ``sql_database``, ``github`` and ``gcp_environment`` may reach."""

    # WFX_SQL_DATABASES: name=SQLAlchemy URL (DSNs stay here, never in a document)
    sql_databases: Mapping[str, str] = field(default_factory=dict, repr=False)
    sql_databases_secret: str | None = None  # WFX_SQL_DATABASES_SECRET: the same list in Secret Manager
    sql_writable: frozenset[str] = frozenset()  # WFX_SQL_WRITE: databases that accept INSERT/UPDATE/DELETE
    sql_max_rows: int = 1000                 # WFX_SQL_MAX_ROWS: rows one query returns at most
    sql_timeout_s: float = 30.0              # WFX_SQL_TIMEOUT_S: one query
    github_token: str | None = field(default=None, repr=False)  # WFX_GITHUB_TOKEN or $WFX_GITHUB_TOKEN_ENV
    github_token_secret: str | None = None   # WFX_GITHUB_TOKEN_SECRET: the token in Secret Manager
    github_api_url: str = "https://api.github.com"  # WFX_GITHUB_API_URL
    github_repos: tuple[str, ...] = ()       # WFX_GITHUB_REPOS: owner/name or owner/*
    github_read_only: bool = False           # WFX_GITHUB_READ_ONLY: offer no writing operation
    runtime_env: Mapping[str, str] = field(default_factory=dict)  # the SAFE_ENV values that are set
    runtime_present: frozenset[str] = frozenset()  # the PRESENCE_ENV names that are set
    metadata_host: str | None = None         # GCE_METADATA_HOST (google-auth's override), else the default

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DataToolSettings:
        token_var = env.get("WFX_GITHUB_TOKEN_ENV")
        token = env.get(token_var) if token_var else None
        repos = _list(env.get("WFX_GITHUB_REPOS"))
        for repo in repos:
            owner, slash, name = repo.partition("/")
            if not slash or not NAME.match(owner) or not (name == "*" or NAME.match(name)):
                raise InvalidArgument(f"WFX_GITHUB_REPOS entry '{repo}' is not owner/name or owner/*",
                                      fix="write WFX_GITHUB_REPOS=owner/name,owner/*")
        databases = parse_named_urls(env.get("WFX_SQL_DATABASES"), "WFX_SQL_DATABASES")
        return cls(
            sql_databases=databases,
            sql_databases_secret=env.get("WFX_SQL_DATABASES_SECRET") or None,
            sql_writable=frozenset(_list(env.get("WFX_SQL_WRITE"))),
            sql_max_rows=int(env.get("WFX_SQL_MAX_ROWS", "1000")),
            sql_timeout_s=float(env.get("WFX_SQL_TIMEOUT_S", "30")),
            github_token=token or env.get("WFX_GITHUB_TOKEN") or None,
            github_token_secret=env.get("WFX_GITHUB_TOKEN_SECRET") or None,
            github_api_url=(env.get("WFX_GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            github_repos=tuple(r.lower() for r in repos),
            github_read_only=env.get("WFX_GITHUB_READ_ONLY", "").lower() in ("1", "true", "yes"),
            runtime_env={k: env[k] for k in SAFE_ENV if env.get(k)},
            runtime_present=frozenset(k for k in PRESENCE_ENV if env.get(k)),
            metadata_host=env.get("GCE_METADATA_HOST") or None,
        )
