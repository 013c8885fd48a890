"""The operator's pages in headless Chromium against a real ``wfx serve`` (issue 19): the
workflows page's success rate and p95 from the hourly aggregates, a run started from the form
that completes and is listed, the schedules page with the next firing and an admin's pause, and
an execution page with its event history and a Markdown output rendered as HTML (its raw HTML
escaped). Screenshots go to tests/ui/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from test_ui_browser import SHOTS, browser, sign_in, wait
from ui_support import Served, UiKeys, make_keys, serve, stop
from workflow_executor.mcp.auth import create_key
from workflow_executor.settings import Settings

__all__ = ["browser"]  # the Chromium fixture, shared with the other browser suite

REPORT = """# the nightly report (a comment the page keeps)
workflows:
  report:
    description: Echoes a title as its report.
    inputs: [title]
    steps:
      - {id: write, function: builtins.echo, args: {value: "${input.title}"}}
schedules:
  - {cron: '0 3 * * *', input: {title: nightly}}
"""
MARKDOWN = "# Weekly report\n\n- **12** runs\n- one `retry`\n\n<script>document.title='pwned'</script>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, UiKeys, str]]:
    home = tmp_path_factory.mktemp("ui-observe")
    settings = Settings.from_env({"WFX_HOME": str(home)})
    keys = make_keys(settings)
    root = create_key(settings, ["run", "read", "cancel", "admin"], None, "root")
    srv = serve(home)
    registered = srv.tool(root, "register_workflow", workflow=REPORT)
    assert registered["isError"] is False, registered
    yield srv, keys, root
    stop(srv.proc)
    assert "Traceback" not in (home / "server.log").read_text(), "the server logged an unexpected error"


def test_a_run_started_from_the_form_completes_is_listed_and_shows_its_history_and_markdown(
        site: tuple[Served, UiKeys, str], browser: WebDriver) -> None:
    srv, keys, _ = site
    sign_in(browser, srv.url + "ui/workflows/report", keys.alice)
    form = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-action=run]"))
    form.find_element(By.CSS_SELECTOR, "textarea[name='in:title']").send_keys(MARKDOWN)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    section = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution")
                   .get_attribute("data-status") == "completed" and d.find_element(By.CSS_SELECTOR,
                                                                                    "section.execution"))
    eid = section.get_attribute("data-id")
    kinds = [r.get_attribute("data-kind") for r in browser.find_elements(By.CSS_SELECTOR, "table.history tr.ev")]
    assert kinds[0] == "execution.created" and kinds[-1] == "execution.completed"
    assert {"step.started", "step.completed"} <= set(kinds)
    md = browser.find_element(By.CSS_SELECTOR, ".result .payload[data-kind=markdown] .md")
    assert md.find_element(By.TAG_NAME, "h3").text == "Weekly report"
    assert [li.text for li in md.find_elements(By.TAG_NAME, "li")] == ["12 runs", "one retry"]
    assert md.find_element(By.CSS_SELECTOR, "li strong").text == "12"
    assert "<script>document.title='pwned'</script>" in md.text  # shown as text, never run
    assert browser.title != "pwned" and not browser.find_elements(By.CSS_SELECTOR, "main script")
    # the workflow's YAML as it was registered (inline text: comments and flow style kept), not JSON
    yaml_text = browser.find_element(By.CSS_SELECTOR, "pre.source").get_attribute("textContent")
    assert yaml_text == REPORT
    browser.save_screenshot(str(SHOTS / "observe-execution.png"))

    browser.get(srv.url + "ui/executions?workflow=report")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-id="{eid}"]'))
    assert browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{eid}"]').get_attribute("data-status") == "completed"


def test_the_workflows_page_shows_success_rate_and_p95_for_each_workflow_that_ran(
        site: tuple[Served, UiKeys, str], browser: WebDriver) -> None:
    srv, keys, _ = site
    for _ in range(3):
        assert srv.tool(keys.alice, "execute_workflow", workflow_name="report",
                        input_data={"title": "t"})["isError"] is False
    failed = srv.tool(keys.alice, "execute_workflow", workflow_name="showcase", input_data={"user_input": "a,b"})
    assert failed["structuredContent"]["status"] == "failed"
    sign_in(browser, srv.url + "ui/workflows", keys.alice)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-workflow="report"]'))
    report = browser.find_element(By.CSS_SELECTOR, 'tr[data-workflow="report"]')
    assert int(report.find_element(By.CSS_SELECTOR, "td.runs").text) >= 3
    assert report.find_element(By.CSS_SELECTOR, "td.rate").text == "100.0 %"
    assert report.find_element(By.CSS_SELECTOR, "td.p95").text.endswith(("ms", "s"))
    assert report.find_elements(By.CSS_SELECTOR, "svg.wfx-spark rect.ok")
    showcase = browser.find_element(By.CSS_SELECTOR, 'tr[data-workflow="showcase"]')
    assert showcase.find_element(By.CSS_SELECTOR, "td.rate").text == "0.0 %"
    assert showcase.find_element(By.CSS_SELECTOR, "td.p95").text != ""
    browser.save_screenshot(str(SHOTS / "observe-workflows.png"))


def test_the_schedules_page_shows_the_next_firing_and_an_admin_pauses_it(
        site: tuple[Served, UiKeys, str], browser: WebDriver) -> None:
    srv, keys, root = site
    sign_in(browser, srv.url + "ui/schedules", keys.alice)
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-key="schedule:report:0"]'))
    assert row.find_element(By.CSS_SELECTOR, "td.next").text.endswith("03:00:00.000")
    assert not row.find_elements(By.CSS_SELECTOR, "button[data-action=pause]")  # alice is no admin
    sign_in(browser, srv.url + "ui/schedules", root)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-key="schedule:report:0"] button').click()
         or True)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-key="schedule:report:0"]')
         .get_attribute("data-paused") == "1")
    assert browser.find_element(By.CSS_SELECTOR, 'tr[data-key="schedule:report:0"] td.next').text == "paused"
    browser.save_screenshot(str(SHOTS / "observe-schedules.png"))
