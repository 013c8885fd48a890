"""The executions list searches every stored run, not the newest pages (issue 19): in headless
Chromium against a real ``wfx serve`` whose SQLite file holds 1,200 runs, the oldest run is found
by a word of its error, by its id prefix and by a time range; an execution page shows the YAML
as registered inline (comments kept) and each loop iteration's timing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from test_ui_browser import SHOTS, browser, sign_in, wait
from ui_support import Served, serve, stop
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.mcp.auth import create_key
from workflow_executor.models import ErrorInfo, Execution, ExecutionStatus
from workflow_executor.settings import Settings

__all__ = ["browser"]  # the Chromium fixture, shared with the other browser suites

NEWER = 1200
NAPS = """# naps: one short sleep per item, registered as inline text
workflows:
  naps:
    steps:
      - id: each  # the loop whose iterations are timed
        function: builtins.sleep
        args: {seconds: "${n}", value: "${loop.index}"}
        loop: {for_each: "${input.xs}", var: n}
"""
SLEEPS = [0.05, 0.15, 0.1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str, Execution]]:
    home = tmp_path_factory.mktemp("ui-search")
    settings = Settings.from_env({"WFX_HOME": str(home)})
    root = create_key(settings, ["run", "read", "cancel", "admin"], None, "root")
    store = SqliteExecutionStore(settings.db_path)
    now = time.time()
    old = Execution(id=uuid.uuid4().hex, workflow_name="ledger", workflow_hash="0" * 64, principal="root",
                    status=ExecutionStatus.FAILED, created_at_s=now - 30 * 86400, updated_at_s=now - 30 * 86400,
                    ended_at_s=now - 30 * 86400 + 2,
                    error=ErrorInfo(code="step_failed", message="Connection refused by ledger-db", step="post"))
    try:
        store.create(old)
        for i in range(NEWER):  # newer runs, a fifth of them failed with another error
            failed = i % 5 == 0
            store.create(Execution(
                id=uuid.uuid4().hex, workflow_name="ledger", workflow_hash="0" * 64, principal="root",
                status=ExecutionStatus.FAILED if failed else ExecutionStatus.COMPLETED,
                created_at_s=now - 86400 + i, updated_at_s=now - 86400 + i,
                error=ErrorInfo(code="step_failed", message="disk full") if failed else None))
    finally:
        store.close()
    srv = serve(home)
    yield srv, root, old
    stop(srv.proc)
    assert "Traceback" not in (home / "server.log").read_text(), "the server logged an unexpected error"


def _rows(browser: WebDriver) -> list[str]:
    return [r.get_attribute("data-id") for r in browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr[data-id]")]


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M")


def test_the_oldest_run_is_found_by_error_text_id_prefix_and_time_range_behind_1200_newer(
        site: tuple[Served, str, Execution], browser: WebDriver) -> None:
    srv, root, old = site
    sign_in(browser, srv.url + "ui/executions", root)
    assert old.id not in _rows(browser)  # the first page holds the newest runs
    form = browser.find_element(By.CSS_SELECTOR, "form.filters")
    form.find_element(By.NAME, "q").send_keys("REFUSED ledger")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: _rows(d) == [old.id])
    error_cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{old.id}"] td.err').text
    assert error_cell == "step_failed: Connection refused by ledger-db"
    assert "Searched the newest" not in browser.page_source
    browser.save_screenshot(str(SHOTS / "search-error-text.png"))

    browser.get(srv.url + "ui/executions?" + urlencode({"id": old.id[:10]}))
    wait(browser, lambda d: _rows(d) == [old.id])
    browser.get(srv.url + "ui/executions?" + urlencode({"since": _utc(old.created_at_s - 60),
                                                         "until": _utc(old.created_at_s + 60)}))
    wait(browser, lambda d: _rows(d) == [old.id])
    # the other error is on many runs: 50 a page, and the next page goes on from the first
    browser.get(srv.url + "ui/executions?q=disk")
    wait(browser, lambda d: len(_rows(d)) == 50)
    first = _rows(browser)
    browser.find_element(By.CSS_SELECTOR, "p.pager a.next").click()
    wait(browser, lambda d: len(_rows(d)) == 50 and _rows(d)[0] not in first)
    assert not set(_rows(browser)) & set(first)


def test_an_inline_workflow_shows_its_yaml_as_written_and_each_loop_iteration_with_its_time(
        site: tuple[Served, str, Execution], browser: WebDriver) -> None:
    srv, root, _ = site
    assert srv.tool(root, "register_workflow", workflow=NAPS)["isError"] is False
    run = srv.tool(root, "execute_workflow", workflow_name="naps", input_data={"xs": SLEEPS})
    eid = run["structuredContent"]["execution_id"]
    sign_in(browser, srv.url + f"ui/executions/{eid}", root)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-status")
         == "completed")
    source = browser.find_element(By.CSS_SELECTOR, "pre.source").get_attribute("textContent")
    assert source == NAPS  # comments, flow mappings and order as registered
    step = browser.find_element(By.CSS_SELECTOR, "details#step-each")
    browser.execute_script("arguments[0].open = true", step)
    times = step.find_elements(By.CSS_SELECTOR, "ol.iterations li .it-time")
    took = [float(t.get_attribute("data-took")) for t in times]
    assert len(took) == len(SLEEPS)
    assert all(t >= s * 0.9 for t, s in zip(took, SLEEPS, strict=True))
    assert all(t.text.startswith("+") for t in times)  # from the step's start
    browser.save_screenshot(str(SHOTS / "loop-iterations.png"))
