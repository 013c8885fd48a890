"""``github``: LangSwarm's GitHub calls against a local stand-in of the REST API (real HTTP on
127.0.0.1 through ``requests``). The operator's token goes only to the configured base URL and
never shows in results or errors; a repository off WFX_GITHUB_REPOS is refused."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import Forbidden, InvalidArgument, NotFound, RepositoryNotAllowed, SpecError, WfxError
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

TOKEN = "ghp_fake_token_0123456789"


@dataclass
class Seen:
    requests: list[tuple[str, str, str | None, Any]] = field(default_factory=list)  # method, path, auth, body


class GitHubStandIn(BaseHTTPRequestHandler):
    """Just enough of api.github.com for the tool's calls, on one repository acme/app."""

    seen: Seen
    other_port: int = 0

    def log_message(self, *args: Any) -> None:
        return None

    def _send(self, status: int, body: Any = None, location: str | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path = urlsplit(self.path).path
        self.seen.requests.append((method, self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"message": "Bad credentials"})
            return
        repo = {"full_name": "acme/app", "description": "the app", "private": True, "default_branch": "main",
                "html_url": "https://github.example/acme/app", "owner": {"login": "acme"}, "node_id": "x" * 50}
        issue = {"number": 7, "title": "Bug", "state": "open", "body": "it breaks", "user": {"login": "ann"},
                 "labels": [{"name": "bug"}], "assignees": [], "comments": 1}
        routes: dict[tuple[str, str], Any] = {
            ("GET", "/user/repos"): [repo, {**repo, "full_name": "acme/secret-plans"}, {**repo, "full_name": "x/y"}],
            ("GET", "/repos/acme/app"): repo,
            ("GET", "/repos/acme/app/issues"): [issue],
            ("GET", "/repos/acme/app/issues/7"): issue,
            ("POST", "/repos/acme/app/issues"): {**issue, "number": 8, "title": (body or {}).get("title")},
            ("GET", "/repos/acme/app/pulls/3"): {"number": 3, "title": "Fix", "state": "open",
                                                 "head": {"ref": "fix"}, "base": {"ref": "main"}},
            ("GET", "/repos/acme/app/contents/docs/read%20me.md"): {
                "path": "docs/read me.md", "type": "file", "sha": "abc", "encoding": "base64",
                "content": base64.b64encode(b"hello docs").decode()},
            ("PUT", "/repos/acme/app/contents/docs/read%20me.md"): {
                "content": {"path": "docs/read me.md", "sha": "def"}, "commit": {"sha": "c1"}},
            ("GET", "/repos/acme/app/git/ref/heads/main"): {"object": {"sha": "m1"}},
            ("POST", "/repos/acme/app/git/refs"): {"object": {"sha": "m1"}},
            ("GET", "/repos/acme/app/issues/7/comments"): [{"id": 1, "user": {"login": "bob"}, "body": "same here"}],
            ("DELETE", "/repos/acme/app/issues/comments/1"): None,
            ("GET", "/repos/acme/app/actions/runs"): {"total_count": 1, "workflow_runs": [
                {"id": 9, "name": "ci", "status": "completed", "conclusion": "success"}]},
        }
        if path == "/repos/acme/old":  # a renamed repository: same API, followed
            self._send(301, None, location="/repos/acme/app")
        elif path == "/repos/acme/leaky":  # a redirect to another origin: the token must not follow
            self._send(302, None, location=f"http://127.0.0.1:{self.other_port}/steal")
        elif (method, path) in routes:
            answer = routes[(method, path)]
            self._send(204 if answer is None else 200, answer)
        else:
            self._send(404, {"message": "Not Found"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def _serve(seen: Seen, other_port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    handler = type("Handler", (GitHubStandIn,), {"seen": seen, "other_port": other_port})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@dataclass
class Api:
    url: str
    seen: Seen
    other: Seen


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    other_seen, seen = Seen(), Seen()
    other, other_thread = _serve(other_seen)
    server, thread = _serve(seen, other.server_address[1])
    yield Api(f"http://127.0.0.1:{server.server_address[1]}", seen, other_seen)
    for srv, th in ((server, thread), (other, other_thread)):
        srv.shutdown()
        srv.server_close()
        th.join(5)


def _env(api: Api, **extra: str) -> dict[str, str]:
    return {"WFX_GITHUB_API_URL": api.url, "WFX_GITHUB_TOKEN_ENV": "GH_TOKEN_FOR_TOOLS", "GH_TOKEN_FOR_TOOLS": TOKEN,
            "WFX_GITHUB_REPOS": "acme/app,acme/old,acme/leaky", **extra}


def _call(env: dict[str, str], op: str, tool: dict[str, Any] | None = None, **args: Any) -> Any:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env(env)))
    doc = load_text(json.dumps({"tools": [{"id": "gh", "type": "mcpgithubtool", **(tool or {})}],
                                "workflows": {"w": {"steps": [{"id": "s", "tool": "gh", "params": {}}]}}}))
    return reg.run_tool("gh", {"method": op, **args}, doc, ToolCall("e", "s"))


def test_reads_and_writes_reach_the_api_with_the_operators_token(api: Api) -> None:
    env = _env(api)
    assert _call(env, "get_repository", owner="acme", repo="app")["default_branch"] == "main"
    issues = _call(env, "list_issues", repo="acme/app", labels=["bug"])
    assert issues[0] == {**issues[0], "number": 7, "title": "Bug", "user": "ann", "labels": ["bug"]}
    assert _call(env, "get_pull_request", owner="acme", repo="app", pull_number=3)["head_ref"] == "fix"
    created = _call(env, "create_issue", owner="acme", repo="app", title="New bug", body="steps", labels=["bug"])
    assert created["number"] == 8 and created["title"] == "New bug"
    assert _call(env, "list_comments", owner="acme", repo="app", issue_number=7)[0]["body"] == "same here"
    assert _call(env, "delete_comment", owner="acme", repo="app", comment_id=1) == {"deleted": 1}
    assert _call(env, "list_workflow_runs", owner="acme", repo="app")["runs"][0]["conclusion"] == "success"
    method, path, auth, body = next(r for r in api.seen.requests if r[0] == "POST")
    assert (method, path, auth) == ("POST", "/repos/acme/app/issues", f"Bearer {TOKEN}")
    assert body == {"title": "New bug", "body": "steps", "labels": ["bug"]}
    assert "/repos/acme/app/issues?per_page=30&page=1&state=open&labels=bug" in [r[1] for r in api.seen.requests]


def test_files_are_read_and_written_with_paths_encoded(api: Api) -> None:
    env = _env(api)
    got = _call(env, "get_file_contents", owner="acme", repo="app", path="docs/read me.md")
    assert (got["content"], got["sha"]) == ("hello docs", "abc")
    out = _call(env, "update_file", owner="acme", repo="app", path="docs/read me.md", content="new", message="m")
    assert out["commit"]["sha"] == "c1"
    put = [r for r in api.seen.requests if r[0] == "PUT"][-1]
    assert put[3]["sha"] == "abc" and base64.b64decode(put[3]["content"]) == b"new"
    with pytest.raises(InvalidArgument):
        _call(env, "get_file_contents", owner="acme", repo="app", path="docs/../../../user/repos")


def test_a_branch_is_created_from_the_default_branch(api: Api) -> None:
    out = _call(_env(api), "create_branch", owner="acme", repo="app", branch="feature/x")
    assert out == {"branch": "feature/x", "from": "main", "sha": "m1"}
    assert api.seen.requests[-1][3] == {"ref": "refs/heads/feature/x", "sha": "m1"}


@pytest.mark.parametrize(("owner", "repo"), [("acme", "secret-plans"), ("evil", "app"), (None, "x/y"),
                                             ("acme", "app/../../secret-plans")])
def test_a_repository_off_the_allow_list_is_refused_before_any_request(api: Api, owner: str | None,
                                                                       repo: str) -> None:
    before = len(api.seen.requests)
    with pytest.raises((RepositoryNotAllowed, InvalidArgument)) as err:
        _call(_env(api), "get_repository", owner=owner, repo=repo)
    if isinstance(err.value, RepositoryNotAllowed):
        assert err.value.code == "repository_not_allowed"
    assert len(api.seen.requests) == before


def test_listed_repositories_are_only_the_allowed_ones(api: Api) -> None:
    out = _call(_env(api, WFX_GITHUB_REPOS="acme/*"), "list_repositories")
    assert [r["full_name"] for r in out["repositories"]] == ["acme/app", "acme/secret-plans"]
    out = _call(_env(api), "list_repositories")
    assert [r["full_name"] for r in out["repositories"]] == ["acme/app"]


def test_the_token_goes_only_to_the_api_and_never_into_results_or_errors(api: Api) -> None:
    env = _env(api)
    shown: list[str] = [json.dumps(_call(env, "get_repository", owner="acme", repo="old"))]  # same-API redirect
    assert json.loads(shown[0])["full_name"] == "acme/app"
    for op, args in (("get_repository", {"owner": "acme", "repo": "leaky"}),
                     ("get_issue", {"owner": "acme", "repo": "app", "issue_number": 404})):
        with pytest.raises(WfxError) as err:
            _call(env, op, **args)
        shown.append(json.dumps(err.value.to_dict()) + str(err.value))
    assert isinstance(err.value, NotFound)
    assert api.other.requests == []  # the other origin was never called, so it never saw the token
    assert all(TOKEN not in s for s in shown)
    with pytest.raises(Forbidden) as bad:  # a wrong token: refused, and the message has no token either
        _call({**env, "GH_TOKEN_FOR_TOOLS": "ghp_wrong"}, "get_repository", owner="acme", repo="app")
    assert "ghp_wrong" not in json.dumps(bad.value.to_dict())


def test_a_read_only_tool_offers_no_writing_operation(api: Api) -> None:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env(_env(api))))
    doc = load_text(json.dumps({"tools": [{"id": "gh", "type": "github", "read_only": True}],
                                "agents": [{"id": "a", "tools": ["gh"]}],
                                "workflows": {"w": {"steps": [{"id": "s", "agent": "a", "input": "x"}]}}}))
    names = {s.name for s in reg.toolbox(["gh"], doc).specs()}
    assert "gh__list_issues" in names and "gh__get_file_contents" in names
    assert not names & {"gh__create_issue", "gh__merge_pull_request", "gh__delete_file", "gh__run_workflow"}


def test_validation_names_the_repository_setting(tmp_path: Path) -> None:
    wf = """
tools: [{id: gh, type: mcpgithubtool}]
workflows: {w: {steps: [{id: s, tool: gh, params: {method: list_issues, repo: acme/app}}]}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf)
    assert "WFX_GITHUB_REPOS" in err.value.issues[0].message
    with executor(tmp_path, {"WFX_GITHUB_REPOS": "acme/app"}) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf.replace("type: mcpgithubtool", "type: mcpgithubtool, repository: evil/app"))
    assert "evil/app" in err.value.issues[0].message


def test_a_github_tool_step_runs_in_a_workflow(api: Api, tmp_path: Path) -> None:
    wf = """
tools: [{id: gh, type: mcpgithubtool, repository: acme/app}]
workflows:
  w:
    steps:
      - {id: issue, tool: gh, params: {method: get_issue, issue_number: 7}, output: {to: user}}
"""
    with executor(tmp_path, _env(api)) as wfx:
        done = wfx.run(workflow=wf)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result["title"] == "Bug"
    assert TOKEN not in json.dumps(done.model_dump(mode="json"))
