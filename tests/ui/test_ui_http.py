"""The /ui routes of the HTTP handler, in process: the shell and assets need no key, every
view needs one (with the read scope), callers see only their own executions, buttons follow
scopes, output text is escaped, lists filter and paginate, and a live stream ends with the run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ui_support import LOCAL, UiKeys, get, text
from workflow_executor.api import Executor
from workflow_executor.mcp.http import handle
from workflow_executor.models import ExecutionStatus

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def _run(ex: Executor, name: str, principal: str, user_input: object, **kw: object) -> str:
    ex.register(HERE / "workflows" / f"{name}.yaml")
    return ex.submit(name, user_input, principal=principal, **kw).id  # type: ignore[arg-type]


def test_the_shell_and_assets_need_no_key_and_carry_a_strict_csp(keyed: tuple[Executor, UiKeys]) -> None:
    ex, _ = keyed
    for path in ("/ui", "/ui/", "/ui/executions", "/ui/executions/abc", "/ui/workflows/x"):
        resp = get(ex.services, path)
        assert resp.status == 200, path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
        assert 'src="/ui/static/app.js"' in text(resp) and "<script>" not in text(resp)
    js = get(ex.services, "/ui/static/app.js")
    assert js.status == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert b"sessionStorage" in js.body
    assert get(ex.services, "/ui/static/../../settings.py").status == 404
    prefixed = get(ex.services, "/fn/ui/executions")
    assert 'href="/fn/ui/static/app.css"' in text(prefixed)


def test_views_need_a_valid_key_with_the_read_scope(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    assert get(ex.services, "/ui/api/executions").status == 401
    assert get(ex.services, "/ui/api/executions", "wfx_000000000000_" + "x" * 43).status == 401
    no_read = get(ex.services, "/ui/api/executions", keys.erin)
    assert no_read.status == 403 and 'data-code="forbidden"' in text(no_read)
    ok = get(ex.services, "/ui/api/executions", keys.carol)
    assert ok.status == 200 and ok.headers["X-Wfx-Caller"].startswith("carol (read)")
    post = handle(ex.services, "POST", "/ui/api/executions", {**LOCAL, "Authorization": f"Bearer {keys.alice}"},
                  b"{}")
    assert post.status == 405


def test_a_caller_sees_only_its_own_executions(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    mine = _run(ex, "slow", "alice", {"seconds": 0})
    theirs = _run(ex, "slow", "bob", {"seconds": 0})
    page = text(get(ex.services, "/ui/api/executions", keys.alice))
    assert mine in page and theirs not in page
    assert get(ex.services, f"/ui/api/executions/{mine}", keys.alice).status == 200
    hidden = get(ex.services, f"/ui/api/executions/{theirs}", keys.alice)
    assert hidden.status == 404 and theirs in text(hidden)  # the id asked for, nothing of the run
    assert "s1" not in text(hidden)


def test_cancel_and_rerun_buttons_follow_the_callers_scopes(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    ex.register(HERE / "workflows" / "slow.yaml")
    queued = ex.submit("slow", {"seconds": 0}, principal="alice", dispatch=False)  # stays queued
    page = text(get(ex.services, f"/ui/api/executions/{queued.id}", keys.alice))
    assert 'data-action="cancel"' in page and 'data-action="rerun"' not in page
    assert 'data-live="1"' in page
    done = _run(ex, "slow", "alice", {"seconds": 0})
    page = text(get(ex.services, f"/ui/api/executions/{done}", keys.alice))
    assert 'data-action="rerun"' in page and 'data-action="cancel"' not in page and "data-live" not in page
    bobs = ex.submit("slow", {"seconds": 0}, principal="bob", dispatch=False)
    assert 'data-action="cancel"' not in text(get(ex.services, f"/ui/api/executions/{bobs.id}", keys.bob))


def test_the_execution_page_shows_branches_children_retries_and_escapes_output(
        keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    eid = _run(ex, "showcase", "alice", "a,<script>alert(1)</script>,c")
    assert ex.status(eid).status == ExecutionStatus.FAILED
    page = text(get(ex.services, f"/ui/api/executions/{eid}", keys.alice))
    for sid in ("split", "count", "upper", "pause", "join", "each", "check"):
        assert f'class="bar" data-step="{sid}"' in page, sid
    for i in range(3):  # one child execution per loop iteration, nested and linked
        assert f'href="/ui/executions/{eid}.each.{i}"' in page
    assert "3 iterations" in page and "2 attempts" in page
    assert "<h4>Iterations (3)</h4>" in page  # each iteration's output on the loop step
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the output, as text
    assert "&lt;script&gt;document.title=" in page  # the error message, as text
    listing = text(get(ex.services, "/ui/api/executions", keys.alice))
    assert f'href="/ui/executions/{eid}.each.1">↳ {eid[:8]}….each.1</a>' in listing
    child = text(get(ex.services, f"/ui/api/executions/{eid}.each.1", keys.alice))
    assert f'href="/ui/executions/{eid}"' in child  # back to the parent


def test_the_list_filters_and_paginates(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    ids = [_run(ex, "slow", "alice", {"seconds": 0}) for _ in range(53)]
    failed = _run(ex, "showcase", "alice", "x")
    first = text(get(ex.services, "/ui/api/executions", keys.alice))
    assert first.count("<tr data-id=") == 50
    cursor = re.search(r'class="next" href="/ui/executions\?cursor=([^"]+)"', first)
    assert cursor is not None
    second = text(get(ex.services, "/ui/api/executions", keys.alice, "cursor=" + cursor.group(1)))
    shown = set(re.findall(r'<tr data-id="([0-9a-f]+)"', first + second))
    assert shown == {*ids, failed}
    only = text(get(ex.services, "/ui/api/executions", keys.alice, "status=failed"))
    assert re.findall(r'<tr data-id="([0-9a-f]+)"', only) == [failed]
    by_wf = text(get(ex.services, "/ui/api/executions", keys.alice, "workflow=showcase&mode=sync"))
    assert re.findall(r'<tr data-id="([0-9a-f]+)"', by_wf) == [failed]
    bad = get(ex.services, "/ui/api/executions", keys.alice, "status=nope")
    assert bad.status == 400 and 'data-code="invalid_argument"' in text(bad)


def test_workflow_pages_draw_the_graph_within_the_callers_allow_list(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    listing = text(get(ex.services, "/ui/api/workflows", keys.carol))
    assert 'href="/ui/workflows/showcase"' in listing and 'href="/ui/workflows/slow"' in listing
    page = text(get(ex.services, "/ui/api/workflows/showcase", keys.carol))
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="wfx-graph"' in page
    assert 'data-step="join"' in page and 'href="/ui/workflows/shout"' in page
    assert get(ex.services, "/ui/api/workflows/nope", keys.carol).status == 404
    warned = text(get(ex.services, "/ui/api/workflows/orphan", keys.carol))
    assert '<ul class="warnings"><li><span class="mono">workflows.orphan.steps[2]</span>' in warned
    node = warned.split('data-step="lost"', 1)[1].split("</g>", 1)[0]
    assert 'stroke="#d93025"' in node and "⚠ 1 warning" in node


def test_the_live_stream_sends_changes_and_ends_with_the_run(keyed: tuple[Executor, UiKeys]) -> None:
    ex, keys = keyed
    eid = _run(ex, "slow", "alice", {"seconds": 0.05}, mode="async")
    resp = get(ex.services, f"/ui/api/executions/{eid}/events", keys.alice)
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    assert resp.stream is not None
    events = b"".join(resp.stream).decode()
    kinds = re.findall(r"^event: (\w+)", events, re.M)
    assert kinds[-1] == "end" and kinds.count("change") >= 2
    assert '"status":"completed"' in events
    assert get(ex.services, f"/ui/api/executions/{eid}/events", keys.bob).status == 404


def test_step_usage_and_wall_time_are_in_the_record_and_the_status_answer(keyed: tuple[Executor, UiKeys]) -> None:
    from workflow_executor.mcp.views import status_view

    ex, _ = keyed
    eid = _run(ex, "showcase", "alice", "a,b")
    done = ex.status(eid)
    rec = done.steps["pause"]
    assert rec.usage is not None and rec.usage.cpu_s > 0  # measured, however small
    assert done.usage.cpu_s >= rec.usage.cpu_s
    view = {s["id"]: s for s in status_view(done, 0.0)["steps"]}
    assert view["pause"]["wall_s"] >= 0.15
    assert view["pause"]["usage"]["cpu_s"] == rec.usage.cpu_s


def test_serving_ui_is_not_imported_by_the_function_until_asked() -> None:
    probe = ("import sys; sys.path.insert(0, 'functions'); import main, workflow_executor.mcp.http; "
             "print(any(m.startswith('workflow_executor.ui') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_an_isolated_runs_peak_memory_and_cpu_are_on_its_page(tmp_path: Path) -> None:
    from dataclasses import replace

    from ui_support import make_keys
    from workflow_executor.settings import Settings

    settings = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_WORKFLOW_ROOTS": str(HERE / "workflows")})
    keys = make_keys(settings)
    with Executor.local(settings=replace(settings)) as ex:
        eid = _run(ex, "slow", "alice", {"seconds": 0}, mode="isolated")
        done = ex.wait(eid, timeout=60)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert done.usage.peak_memory_kb > 0 and done.usage.cpu_s > 0
        page = text(get(ex.services, f"/ui/api/executions/{eid}", keys.alice))
        mib = f"{done.usage.peak_memory_kb / 1024:.1f} MiB"
        assert f"<dt>peak memory</dt><dd>{mib}</dd>" in page and "<dt>CPU time</dt>" in page


def test_a_key_name_from_the_keys_file_cannot_inject_a_header(keyed: tuple[Executor, UiKeys],
                                                              tmp_path: Path) -> None:
    import json as _json

    ex, keys = keyed
    path = tmp_path / "keys.json"
    data = _json.loads(path.read_text())
    for k in data["keys"]:
        if k["name"] == "carol":
            k["name"] = "carol\r\nX-Injected: 1"
    path.write_text(_json.dumps(data))
    resp = get(ex.services, "/ui/api/workflows", keys.carol)
    assert resp.status == 200
    who = resp.headers["X-Wfx-Caller"]
    assert "\r" not in who and "\n" not in who and who.startswith("carol??X-Injected:?1 (read)")


def test_llm_tokens_and_cost_fill_the_columns_when_steps_report_usage(keyed: tuple[Executor, UiKeys]) -> None:
    from workflow_executor.access import OPEN_CALLER
    from workflow_executor.mcp.app import app_for
    from workflow_executor.models import Execution, StepRecord, StepStatus, Usage
    from workflow_executor.ui import execution, listing

    ex, _ = keyed
    used = Usage(prompt_tokens=1200, completion_tokens=34, cost_usd=0.0021, cpu_s=0.004)
    run = Execution(id="e" * 32, workflow_name="gone", workflow_hash="0" * 64, principal="local",
                    status=ExecutionStatus.COMPLETED, usage=used, created_at_s=1.0, started_at_s=1.0,
                    ended_at_s=2.5, updated_at_s=2.5,
                    steps={"ask": StepRecord(step_id="ask", status=StepStatus.COMPLETED, attempts=1, seq=1,
                                             started_at_s=1.0, ended_at_s=2.5, output="hi", usage=used)})
    ex.store.create(run)
    page = execution.page(app_for(ex.services), OPEN_CALLER, run, "")
    assert page.count("1,234 (1,200 in / 34 out)") == 2  # the execution and its step
    assert page.count("$0.0021") == 2
    listed = listing.executions(app_for(ex.services), OPEN_CALLER, {}, "")
    row = next(r for r in listed.split("<tr ") if "e" * 12 in r)
    assert '<td data-v="1234">1,234</td><td data-v="0.00210000">$0.0021</td>' in row


def test_each_step_shows_the_input_it_was_given_but_never_an_env_value(tmp_path: Path) -> None:
    from dataclasses import replace

    from ui_support import make_keys
    from workflow_executor.settings import Settings

    settings = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_ENV_ALLOW": "UI_SECRET",
                                  "UI_SECRET": "hunter2-value", "WFX_WORKFLOW_ROOTS": str(HERE / "workflows")})
    keys = make_keys(settings)
    with Executor.local(settings=replace(settings), memory=True) as ex:
        run = ex.run(workflow="""
workflows:
  w:
    steps:
      - {id: first, function: builtins.echo, args: {value: "${user_input}"}}
      - {id: second, function: builtins.echo, args: {value: {got: "${first.output}", n: 2}}}
      - {id: third, function: builtins.echo, args: {value: "${env.UI_SECRET}"}}
""", input="hello <b>there</b>", principal="alice")
        assert run.result == "hunter2-value"
        assert run.steps["second"].input_preview == '{"value": {"got": "hello <b>there</b>", "n": 2}}'
        assert run.steps["third"].input_preview is None  # env values never reach the store
        page = text(get(ex.services, f"/ui/api/executions/{run.id}", keys.alice))
        assert "&quot;got&quot;: &quot;hello &lt;b&gt;there&lt;/b&gt;&quot;" in page
        assert "<h4>Input (as written)</h4><pre>{\n  &quot;value&quot;: &quot;${env.UI_SECRET}&quot;" in page
        third = page.split('data-key="third"', 1)[1].split("<h4>Output</h4>", 1)[0]
        assert "hunter2" not in third  # its output (the echo) shows it; its input never does


def test_an_agent_turn_is_a_change_for_the_live_page(keyed: tuple[Executor, UiKeys]) -> None:
    from workflow_executor.ports import Event
    from workflow_executor.ui import live

    ex, _ = keyed
    ex.register(HERE / "workflows" / "slow.yaml")
    queued = ex.submit("slow", {"seconds": 0}, principal="alice", dispatch=False)  # its head never changes
    stream = live.changes(ex.services, lambda: ex.store.get_head(queued.id), limit_s=1.0)
    assert next(stream).id == queued.id
    ex.services.events.publish(Event(type="agent.turn", execution_id=queued.id, workflow="slow", data={}))
    assert next(stream).id == queued.id  # without the turn, the stream would end unchanged at its limit
    ex.services.events.publish(Event(type="agent.turn", execution_id="someone-else", workflow="slow", data={}))
    assert next(stream, None) is None
