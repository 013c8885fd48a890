"""``github`` (LangSwarm: ``mcpgithubtool``): the GitHub REST calls LangSwarm's tool lists
(repositories, issues, pull requests, commits, branches, files, Actions workflows, comments) with
the operator's token, on repositories the operator allows (WFX_GITHUB_REPOS). A workflow may set a
default ``repository: owner/name`` and ``read_only: true``; never a URL or a token.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...errors import InvalidArgument, WfxError
from ...spec.model import Tool
from ..toolbox import ToolCall
from . import github_api as gh
from .base import Operation, OperationsKind, ToolEnv, tool_setting


class _Repo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(None, description="repository owner (user or organisation)")
    repo: str | None = Field(None, description="repository name, or owner/name")


class _Page(_Repo):
    per_page: int = Field(30, ge=1, le=100)
    page: int = Field(1, ge=1, le=1000)


class ListReposArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(None, description="a user or organisation; default: the token's own repositories")
    per_page: int = Field(30, ge=1, le=100)
    page: int = Field(1, ge=1, le=1000)


class ListIssuesArgs(_Page):
    state: Literal["open", "closed", "all"] = "open"
    labels: list[str] | None = None


class IssueArgs(_Repo):
    issue_number: int = Field(..., ge=1)


class CreateIssueArgs(_Repo):
    title: str = Field(..., min_length=1, max_length=256)
    body: str | None = Field(None, max_length=65536)
    labels: list[str] | None = None
    assignees: list[str] | None = None


class UpdateIssueArgs(IssueArgs):
    title: str | None = Field(None, max_length=256)
    body: str | None = Field(None, max_length=65536)
    state: Literal["open", "closed"] | None = None
    labels: list[str] | None = None
    assignees: list[str] | None = None


class ListPullsArgs(_Page):
    state: Literal["open", "closed", "all"] = "open"
    base: str | None = None
    head: str | None = None


class PullArgs(_Repo):
    pull_number: int = Field(..., ge=1)


class CreatePullArgs(_Repo):
    title: str = Field(..., min_length=1, max_length=256)
    head: str = Field(..., description="the branch with the changes")
    base: str = Field(..., description="the branch to merge into")
    body: str | None = Field(None, max_length=65536)
    draft: bool = False


class MergePullArgs(PullArgs):
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    commit_title: str | None = None
    commit_message: str | None = None


class ListCommitsArgs(_Page):
    sha: str | None = Field(None, description="branch or commit to start from")
    path: str | None = Field(None, description="only commits touching this path")


class CommitArgs(_Repo):
    sha: str = Field(..., min_length=1, max_length=255, description="commit SHA or branch")


class BranchArgs(_Repo):
    branch: str = Field(..., min_length=1, max_length=255)


class CreateBranchArgs(BranchArgs):
    from_branch: str | None = Field(None, description="branch to start from (default: the repository's default)")


class FileArgs(_Repo):
    path: str = Field(..., min_length=1, max_length=1024, description="file or folder path in the repository")
    ref: str | None = Field(None, description="branch, tag or commit")


class WriteFileArgs(_Repo):
    path: str = Field(..., min_length=1, max_length=1024)
    content: str = Field(..., max_length=1_000_000, description="the file's new UTF-8 text")
    message: str = Field(..., min_length=1, max_length=1000, description="commit message")
    branch: str | None = None
    sha: str | None = Field(None, description="the current file's blob SHA (looked up when not given)")


class DeleteFileArgs(_Repo):
    path: str = Field(..., min_length=1, max_length=1024)
    message: str = Field(..., min_length=1, max_length=1000)
    branch: str | None = None
    sha: str | None = None


class RunWorkflowArgs(_Repo):
    workflow_id: str = Field(..., description="workflow file name (ci.yml) or numeric id")
    ref: str = Field(..., description="branch or tag to run on")
    inputs: dict[str, str] | None = None


class ListRunsArgs(_Page):
    workflow_id: str | None = None
    branch: str | None = None
    status: str | None = None


class RunArgs(_Repo):
    run_id: int = Field(..., ge=1)


class CommentArgs(IssueArgs):
    body: str = Field(..., min_length=1, max_length=65536)


class CommentIdArgs(_Repo):
    comment_id: int = Field(..., ge=1)


def _token(env: ToolEnv) -> Callable[[], str | None]:
    data = env.settings.data

    def token() -> str | None:
        if data.github_token:
            return data.github_token
        if data.github_token_secret and env.secret is not None:
            return (env.secret(data.github_token_secret) or "").strip() or None
        return None

    return token


def _check(tool: Tool, env: ToolEnv) -> str | None:
    data = env.settings.data
    if not data.github_repos:
        return (f"tool '{tool.id}' (github) can reach no repository: the operator allows them with "
                "WFX_GITHUB_REPOS=owner/name,owner/*")
    default = tool_setting(tool, "repository")
    if default is not None:
        try:
            gh.GitHubApi(data.github_api_url, lambda: None, data.github_repos, 1, 1).repo(None, str(default), None)
        except WfxError as exc:
            return f"tool '{tool.id}': {exc}"
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    data = env.settings.data
    api = gh.GitHubApi(data.github_api_url, _token(env), data.github_repos, env.settings.timeout_s,
                       max(env.settings.max_result_bytes * 8, 1_048_576))
    default = tool_setting(tool, "repository")
    default = str(default) if default else None
    read_only = data.github_read_only or bool(tool_setting(tool, "read_only", False))

    def base(a: _Repo) -> str:
        return api.repo(a.owner, a.repo, default)

    def call(method: str, path: str, ctx: ToolCall, **kw: Any) -> Any:
        return api.call(method, path, deadline_s=ctx.deadline_s, **kw)

    def page(a: Any) -> dict[str, Any]:
        return {"per_page": a.per_page, "page": a.page}

    def list_repositories(a: ListReposArgs, ctx: ToolCall) -> Any:
        if a.owner is not None and not gh.SEGMENT.match(a.owner):
            raise InvalidArgument(f"'{a.owner[:100]}' is not a GitHub owner", fix="give a user or organisation name")
        path = f"/users/{a.owner}/repos" if a.owner else "/user/repos"
        listed = call("GET", path, ctx, params=page(a)) or []
        repos = [gh.repo_view(r) for r in listed if isinstance(r, dict) and gh.repo_allowed(
            *str(r.get("full_name", "/")).partition("/")[::2], data.github_repos)]
        return {"repositories": repos, "count": len(repos), "page": a.page}

    def get_file_contents(a: FileArgs, ctx: ToolCall) -> Any:
        got = call("GET", f"{base(a)}/contents/{gh.path_part(a.path, 'path')}", ctx, params={"ref": a.ref})
        if isinstance(got, list):
            return {"path": a.path, "type": "dir", "entries": [gh.pick(e, "name", "path", "type", "size", "sha")
                                                               for e in got]}
        out = gh.pick(got, "path", "type", "size", "sha", "html_url")
        if isinstance(got, dict) and got.get("encoding") == "base64":
            raw = base64.b64decode(str(got.get("content", "")))
            try:
                out["content"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                out["content_base64"] = base64.b64encode(raw).decode("ascii")
        return out

    def file_sha(a: Any, ctx: ToolCall) -> str | None:
        if a.sha:
            return str(a.sha)
        try:
            got = call("GET", f"{base(a)}/contents/{gh.path_part(a.path, 'path')}", ctx, params={"ref": a.branch})
        except WfxError as exc:
            if exc.code == "not_found":
                return None
            raise
        return got.get("sha") if isinstance(got, dict) else None

    def write_file(a: WriteFileArgs, ctx: ToolCall, must_exist: bool) -> Any:
        sha = file_sha(a, ctx) if must_exist or a.sha else None
        if must_exist and not sha:
            raise InvalidArgument(f"'{a.path[:200]}' does not exist to update", fix="use create_file")
        body = {"message": a.message, "content": base64.b64encode(a.content.encode()).decode("ascii"),
                "branch": a.branch, "sha": sha}
        got = call("PUT", f"{base(a)}/contents/{gh.path_part(a.path, 'path')}", ctx,
                   body={k: v for k, v in body.items() if v is not None})
        return {"content": gh.pick((got or {}).get("content"), "path", "sha", "html_url"),
                "commit": gh.pick((got or {}).get("commit"), "sha", "html_url")}

    def delete_file(a: DeleteFileArgs, ctx: ToolCall) -> Any:
        sha = file_sha(a, ctx)
        if not sha:
            raise InvalidArgument(f"'{a.path[:200]}' does not exist", fix="check the path and branch")
        body = {"message": a.message, "sha": sha, "branch": a.branch}
        got = call("DELETE", f"{base(a)}/contents/{gh.path_part(a.path, 'path')}", ctx,
                   body={k: v for k, v in body.items() if v is not None})
        return {"deleted": a.path, "commit": gh.pick((got or {}).get("commit"), "sha", "html_url")}

    def create_branch(a: CreateBranchArgs, ctx: ToolCall) -> Any:
        source = a.from_branch or (call("GET", base(a), ctx) or {}).get("default_branch") or "main"
        head = call("GET", f"{base(a)}/git/ref/heads/{gh.path_part(source, 'branch')}", ctx)
        sha = ((head or {}).get("object") or {}).get("sha")
        got = call("POST", f"{base(a)}/git/refs", ctx, body={"ref": f"refs/heads/{a.branch}", "sha": sha})
        return {"branch": a.branch, "from": source, "sha": ((got or {}).get("object") or {}).get("sha")}

    def list_runs(a: ListRunsArgs, ctx: ToolCall) -> Any:
        prefix = f"/actions/workflows/{gh.path_part(a.workflow_id, 'workflow_id')}" if a.workflow_id else "/actions"
        got = call("GET", f"{base(a)}{prefix}/runs", ctx, params={**page(a), "branch": a.branch, "status": a.status})
        return {"total_count": (got or {}).get("total_count"),
                "runs": [gh.run_view(r) for r in (got or {}).get("workflow_runs") or []]}

    def issue_body(a: Any) -> dict[str, Any]:
        fields = ("title", "body", "state", "labels", "assignees")
        return {f: getattr(a, f) for f in fields if getattr(a, f, None) is not None}

    reads: list[tuple[str, str, type[BaseModel], Callable[[Any, ToolCall], Any]]] = [
        ("list_repositories", "List the allowed repositories of a user/organisation (or the token's own).",
         ListReposArgs, list_repositories),
        ("get_repository", "A repository's description, default branch and counts.", _Repo,
         lambda a, c: gh.repo_view(call("GET", base(a), c))),
        ("list_issues", "List issues (state, labels).", ListIssuesArgs,
         lambda a, c: [gh.issue_view(i) for i in call("GET", f"{base(a)}/issues", c, params={
             **page(a), "state": a.state, "labels": ",".join(a.labels) if a.labels else None}) or []]),
        ("get_issue", "One issue with its body.", IssueArgs,
         lambda a, c: gh.issue_view(call("GET", f"{base(a)}/issues/{a.issue_number}", c))),
        ("list_pull_requests", "List pull requests (state, base, head).", ListPullsArgs,
         lambda a, c: [gh.pr_view(p) for p in call("GET", f"{base(a)}/pulls", c, params={
             **page(a), "state": a.state, "base": a.base, "head": a.head}) or []]),
        ("get_pull_request", "One pull request.", PullArgs,
         lambda a, c: gh.pr_view(call("GET", f"{base(a)}/pulls/{a.pull_number}", c))),
        ("list_commits", "List commits (of a branch, touching a path).", ListCommitsArgs,
         lambda a, c: [gh.commit_view(x) for x in call("GET", f"{base(a)}/commits", c, params={
             **page(a), "sha": a.sha, "path": a.path}) or []]),
        ("get_commit", "One commit with its changed files.", CommitArgs,
         lambda a, c: gh.commit_view(call("GET", f"{base(a)}/commits/{gh.path_part(a.sha, 'sha')}", c), True)),
        ("list_branches", "List branches.", _Page,
         lambda a, c: [gh.pick(b, "name", "commit.sha", "protected")
                       for b in call("GET", f"{base(a)}/branches", c, params=page(a)) or []]),
        ("get_branch", "One branch and its head commit.", BranchArgs,
         lambda a, c: gh.pick(call("GET", f"{base(a)}/branches/{gh.path_part(a.branch, 'branch')}", c),
                              "name", "commit.sha", "protected")),
        ("get_file_contents", "A file's text (or a folder's entries) at a ref.", FileArgs, get_file_contents),
        ("list_workflows", "List the GitHub Actions workflows.", _Repo,
         lambda a, c: [gh.pick(w, "id", "name", "path", "state")
                       for w in (call("GET", f"{base(a)}/actions/workflows", c) or {}).get("workflows") or []]),
        ("list_workflow_runs", "List Actions runs (of one workflow, branch, status).", ListRunsArgs, list_runs),
        ("get_workflow_run", "One Actions run.", RunArgs,
         lambda a, c: gh.run_view(call("GET", f"{base(a)}/actions/runs/{a.run_id}", c))),
        ("list_comments", "List an issue's or pull request's comments.", IssueArgs,
         lambda a, c: [gh.comment_view(x) for x in call("GET", f"{base(a)}/issues/{a.issue_number}/comments", c)
                       or []]),
    ]
    writes: list[tuple[str, str, type[BaseModel], Callable[[Any, ToolCall], Any]]] = [
        ("create_issue", "Open an issue.", CreateIssueArgs,
         lambda a, c: gh.issue_view(call("POST", f"{base(a)}/issues", c, body=issue_body(a)))),
        ("update_issue", "Change an issue's title, body, state, labels or assignees.", UpdateIssueArgs,
         lambda a, c: gh.issue_view(call("PATCH", f"{base(a)}/issues/{a.issue_number}", c, body=issue_body(a)))),
        ("create_pull_request", "Open a pull request from head into base.", CreatePullArgs,
         lambda a, c: gh.pr_view(call("POST", f"{base(a)}/pulls", c, body={
             "title": a.title, "head": a.head, "base": a.base, "body": a.body, "draft": a.draft}))),
        ("merge_pull_request", "Merge a pull request.", MergePullArgs,
         lambda a, c: gh.pick(call("PUT", f"{base(a)}/pulls/{a.pull_number}/merge", c, body={
             k: v for k, v in {"merge_method": a.merge_method, "commit_title": a.commit_title,
                               "commit_message": a.commit_message}.items() if v is not None}),
             "sha", "merged", "message")),
        ("create_branch", "Create a branch from another (default: the default branch).", CreateBranchArgs,
         create_branch),
        ("create_file", "Commit a new file.", WriteFileArgs, lambda a, c: write_file(a, c, False)),
        ("update_file", "Commit a new version of a file.", WriteFileArgs, lambda a, c: write_file(a, c, True)),
        ("delete_file", "Commit a file's deletion.", DeleteFileArgs, delete_file),
        ("run_workflow", "Start an Actions workflow (workflow_dispatch) on a ref.", RunWorkflowArgs,
         lambda a, c: call("POST", f"{base(a)}/actions/workflows/{gh.path_part(a.workflow_id, 'workflow_id')}"
                           "/dispatches", c, body={"ref": a.ref, "inputs": a.inputs or {}}) or {"started": True}),
        ("create_comment", "Comment on an issue or pull request.", CommentArgs,
         lambda a, c: gh.comment_view(call("POST", f"{base(a)}/issues/{a.issue_number}/comments", c,
                                           body={"body": a.body}))),
        ("delete_comment", "Delete a comment.", CommentIdArgs,
         lambda a, c: call("DELETE", f"{base(a)}/issues/comments/{a.comment_id}", c) or {"deleted": a.comment_id}),
    ]
    chosen = reads if read_only else reads + writes
    return [Operation(name, desc, args, handler) for name, desc, args, handler in chosen]


KIND = OperationsKind("github", "GitHub REST (issues, pull requests, files, Actions) on the operator's allowed "
                      "repositories (WFX_GITHUB_REPOS) with its token", _operations,
                      aliases=("mcpgithubtool", "mcpgithub", "github_tool", "githubtool"), check=_check)
