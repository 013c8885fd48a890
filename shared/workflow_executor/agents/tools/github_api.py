"""The GitHub REST client of the ``github`` tool: only the operator's base URL (WFX_GITHUB_API_URL)
is reached, the token goes only there (no redirect to another origin is followed), repositories
are checked against WFX_GITHUB_REPOS, and answers are trimmed to the fields an agent needs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from ...errors import Forbidden, InvalidArgument, NotFound, RepositoryNotAllowed, ToolFailed, Transient
from .allow import origin

SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
MAX_REDIRECTS = 3


def split_repo(owner: str | None, repo: str | None, default: str | None) -> tuple[str, str]:
    """(owner, name) from ``owner`` + ``repo``, ``repo: owner/name``, or the tool's default.
    Errors: InvalidArgument for a missing or malformed name."""
    if repo and "/" in repo and not owner:
        owner, _, repo = repo.partition("/")
    if not repo and default:
        d_owner, _, d_repo = default.partition("/")
        owner, repo = owner or d_owner, d_repo
    if not owner or not repo:
        raise InvalidArgument("which repository? give owner and repo (or repo: owner/name)",
                              fix="pass owner and repo, or set repository: owner/name on the tool", field="repo")
    for part in (owner, repo):
        if not SEGMENT.match(part):
            raise InvalidArgument(f"'{part[:100]}' is not a GitHub owner or repository name",
                                  fix="use letters, digits, '-', '_' and '.'", field="repo")
    return owner, repo


def repo_allowed(owner: str, repo: str, allow: tuple[str, ...]) -> bool:
    full = f"{owner}/{repo}".lower()
    return any(entry == full or (entry.endswith("/*") and entry[:-2] == owner.lower()) for entry in allow)


def path_part(value: str, what: str) -> str:
    """A file path or ref for the URL: each segment percent-encoded, no ``..``. Errors: InvalidArgument."""
    parts = [p for p in value.strip().strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts) or any(ord(c) < 32 for c in value):
        raise InvalidArgument(f"the {what} '{value[:200]}' is not allowed", fix=f"give a plain {what} inside the repo",
                              field=what)
    return "/".join(quote(p, safe="") for p in parts)


class GitHubApi:
    """One operator's GitHub: base URL, token (read on first use) and repository allow-list."""

    def __init__(self, base_url: str, token: Callable[[], str | None], allow: tuple[str, ...],
                 timeout_s: float, max_bytes: int) -> None:
        origin(base_url)  # an http(s) URL, else InvalidArgument
        self.base = base_url.rstrip("/")
        self.allow = allow
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._token = token

    def repo(self, owner: str | None, repo: str | None, default: str | None) -> str:
        """``/repos/{owner}/{repo}`` for an allowed repository. Errors: RepositoryNotAllowed."""
        o, r = split_repo(owner, repo, default)
        if not repo_allowed(o, r, self.allow):
            raise RepositoryNotAllowed(f"repository '{o}/{r}' is not on the operator's allow-list",
                                       fix="use an allowed repository; the operator allows them with "
                                           "WFX_GITHUB_REPOS=owner/name,owner/*", repository=f"{o}/{r}")
        return f"/repos/{quote(o, safe='')}/{quote(r, safe='')}"

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
             deadline_s: float | None = None) -> Any:
        """One REST call; JSON answer (None for 204). Errors: NotFound (404), Forbidden (401/403),
        InvalidArgument (422/400), Transient (429, 5xx, no answer), ToolFailed (other)."""
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "workflow-executor"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        end = time.monotonic() + self.timeout_s
        if deadline_s is not None:
            end = min(end, deadline_s)
        url = self.base + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        with requests.Session() as http:
            http.trust_env = False  # no proxy or netrc from the environment
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    resp = http.request(method, url, headers=headers, params=query or None, json=body,
                                        timeout=max(end - time.monotonic(), 0.05), allow_redirects=False)
                except requests.RequestException as exc:
                    raise Transient(f"GitHub did not answer {method} {path[:200]} ({type(exc).__name__})",
                                    fix="try again later") from None
                if resp.is_redirect and resp.headers.get("Location"):
                    target = urljoin(url, resp.headers["Location"])
                    if not self._same_api(target):
                        raise Forbidden("GitHub redirected outside the configured API URL; not followed",
                                        fix="the operator checks WFX_GITHUB_API_URL")
                    url = target
                    continue
                return self._answer(resp, method, path)
        raise ToolFailed(f"GitHub redirected {method} {path[:200]} too often", fix="try again later")

    def _same_api(self, url: str) -> bool:
        try:
            same_origin = origin(url) == origin(self.base)
        except InvalidArgument:
            return False
        base_path = urlsplit(self.base).path.rstrip("/")
        return same_origin and (urlsplit(url).path + "/").startswith(base_path + "/")

    def _answer(self, resp: requests.Response, method: str, path: str) -> Any:
        where = f"{method} {path[:200]}"
        if len(resp.content) > self.max_bytes:
            raise ToolFailed(f"GitHub's answer to {where} is over {self.max_bytes:,} bytes",
                             fix="ask for less (per_page, a narrower path)")
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = None
        message = str(data.get("message", ""))[:300] if isinstance(data, dict) else ""
        code = resp.status_code
        if code < 300:
            return data
        detail = f": {message}" if message else ""
        if code == 404:
            raise NotFound(f"GitHub has no {where}{detail}", fix="check the owner, repository, number or path")
        if code in (401, 403) and resp.headers.get("X-RateLimit-Remaining") != "0":
            raise Forbidden(f"GitHub refused {where} ({code}){detail}",
                            fix="the operator's token (WFX_GITHUB_TOKEN_ENV) needs access to this repository")
        if code in (400, 409, 422):
            raise InvalidArgument(f"GitHub rejected {where} ({code}){detail}", fix="check the arguments")
        if code in (403, 429) or code >= 500:
            raise Transient(f"GitHub answered {code} to {where}{detail}", fix="try again later")
        raise ToolFailed(f"GitHub answered {code} to {where}{detail}")


def pick(obj: Any, *keys: str) -> dict[str, Any]:
    """The given keys of ``obj`` (``a.b`` reaches into a nested object; ``login`` of users)."""
    if not isinstance(obj, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key in keys:
        value: Any = obj
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping) and "login" in value:
            value = value["login"]
        out[key.replace(".", "_")] = value
    return out


def trim_text(value: Any, limit: int = 8000) -> Any:
    return value[:limit] + "…" if isinstance(value, str) and len(value) > limit else value


def repo_view(r: Any) -> dict[str, Any]:
    return pick(r, "full_name", "description", "private", "default_branch", "html_url", "language",
                "stargazers_count", "forks_count", "open_issues_count", "archived", "updated_at")


def issue_view(i: Any) -> dict[str, Any]:
    out = pick(i, "number", "title", "state", "user", "comments", "created_at", "updated_at", "closed_at",
               "html_url")
    if isinstance(i, Mapping):
        out["body"] = trim_text(i.get("body"))
        out["labels"] = [lab.get("name") for lab in i.get("labels") or [] if isinstance(lab, Mapping)]
        out["assignees"] = [a.get("login") for a in i.get("assignees") or [] if isinstance(a, Mapping)]
        out["is_pull_request"] = "pull_request" in i
    return out


def pr_view(p: Any) -> dict[str, Any]:
    out = pick(p, "number", "title", "state", "user", "head.ref", "base.ref", "draft", "merged", "mergeable",
               "html_url", "created_at", "updated_at", "merged_at")
    out["body"] = trim_text(p.get("body")) if isinstance(p, Mapping) else None
    return out


def commit_view(c: Any, files: bool = False) -> dict[str, Any]:
    out = pick(c, "sha", "commit.message", "commit.author.name", "commit.author.date", "author", "html_url")
    if files and isinstance(c, Mapping):
        out["stats"] = c.get("stats")
        out["files"] = [pick(f, "filename", "status", "additions", "deletions") for f in c.get("files") or []][:300]
    return out


def comment_view(c: Any) -> dict[str, Any]:
    out = pick(c, "id", "user", "created_at", "updated_at", "html_url")
    out["body"] = trim_text(c.get("body")) if isinstance(c, Mapping) else None
    return out


def run_view(r: Any) -> dict[str, Any]:
    return pick(r, "id", "name", "workflow_id", "status", "conclusion", "head_branch", "head_sha", "event",
                "created_at", "updated_at", "html_url")
