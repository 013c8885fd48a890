"""The operator's tool settings (agents' tools and ``tool:`` steps): roots, allow-lists, limits.

Parsed by ``Settings.from_env`` from the environment it was handed (this module reads no
environment itself). Everything is closed unless listed here.
"""

from __future__ import annotations

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
            servers=parse_named_urls(env.get("WFX_TOOL_SERVERS"), "WFX_TOOL_SERVERS"),
            data=DataToolSettings.from_env(env),
        )
