"""The web view in headless Chromium (Debian's chromium + chromedriver, driven by Selenium)
against a real ``wfx serve`` with API keys: the key flow, the list and its filters, an
execution with a fan-out, a loop of child runs and a failed step, live updates over
server-sent events, Cancel from the page, and a caller without the cancel scope. Screenshots
go to tests/ui/screenshots/ (git-ignored)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from ui_support import Served, UiKeys, make_keys, serve, stop
from workflow_executor.settings import Settings

SHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, UiKeys]]:
    home = tmp_path_factory.mktemp("ui-browser")
    keys = make_keys(Settings.from_env({"WFX_HOME": str(home)}))
    srv = serve(home)
    yield srv, keys
    stop(srv.proc)
    assert "Traceback" not in (home / "server.log").read_text(), "the server logged an unexpected error"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    assert Path(CHROMIUM).exists() and Path(DRIVER).exists(), (
        "headless Chromium is needed: apt-get install -y chromium chromium-driver (.ci/run does)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1600"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    SHOTS.mkdir(exist_ok=True)
    yield drv
    drv.quit()


def wait(drv: WebDriver, check: Any, timeout: float = 15.0) -> Any:
    # a live page replaces its content as the run proceeds: an element may go stale between looks
    return WebDriverWait(drv, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException, ElementNotInteractableException)
                         ).until(lambda d: check(d))


def sign_in(drv: WebDriver, url: str, key: str) -> None:
    drv.get(url)
    drv.execute_script("sessionStorage.clear()")
    drv.get(url)
    form = wait(drv, lambda d: d.find_element(By.ID, "keyform").is_displayed() and d.find_element(By.ID, "keyform"))
    form.find_element(By.ID, "keyinput").send_keys(key)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "main section:not(.problem)"))


def bars(drv: WebDriver) -> dict[str, tuple[float, float]]:
    rows = drv.execute_script(
        "return Array.from(document.querySelectorAll('g.bar')).map(g => {const r = g.querySelector('rect');"
        " return [g.dataset.step, +r.getAttribute('x'), +r.getAttribute('width')]})")
    return {step: (x, x + w) for step, x, w in rows}


def test_key_flow_list_filters_and_the_execution_timeline(site: tuple[Served, UiKeys], browser: WebDriver) -> None:
    srv, keys = site
    failed = srv.tool(keys.alice, "execute_workflow", workflow_name="showcase",
                      input_data={"user_input": "a,<script>document.title='pwned'</script>,c"})
    eid = failed["structuredContent"]["execution_id"]
    assert failed["structuredContent"]["status"] == "failed"
    ok = srv.tool(keys.alice, "execute_workflow", workflow_name="slow", input_data={"seconds": 0})
    assert ok["isError"] is False
    sign_in(browser, srv.url + "ui/executions", keys.alice)
    assert browser.find_element(By.ID, "who").text.startswith("alice")
    ids = [r.get_attribute("data-id") for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-id]")]
    assert {eid, ok["structuredContent"]["execution_id"]} <= set(ids)
    browser.save_screenshot(str(SHOTS / "executions.png"))
    browser.find_element(By.CSS_SELECTOR, "select[name=status] option[value=failed]").click()
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(browser, lambda d: "status=failed" in d.current_url and d.find_elements(By.CSS_SELECTOR, "tr[data-id]"))
    statuses = {r.get_attribute("data-status") for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-id]")}
    assert statuses == {"failed"}

    browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{eid}"] a').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.wfx-timeline"))
    b = bars(browser)
    assert {"split", "count", "upper", "pause", "join", "each", "check"} <= set(b)
    # the two slow branches ran side by side: their bars overlap for most of their length
    overlap = min(b["pause"][1], b["upper"][1]) - max(b["pause"][0], b["upper"][0])
    assert overlap > 0.6 * (b["pause"][1] - b["pause"][0])
    assert b["count"][0] < b["pause"][1]
    assert b["join"][0] >= b["pause"][1] - 1 and b["check"][0] >= b["each"][1] - 1
    children = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.wfx-timeline a')).map(a => a.getAttribute('href'))"
        ".filter(h => h.indexOf('/ui/executions/') >= 0)")
    assert [c.rsplit("/", 1)[1] for c in children] == [f"{eid}.each.{i}" for i in range(3)]
    check = browser.find_element(By.CSS_SELECTOR, 'details[data-key="check"]')
    check.click()
    assert "<script>document.title='pwned'</script>" in check.text  # shown as text, not run
    assert browser.title != "pwned" and not browser.find_elements(By.CSS_SELECTOR, "main script, main img")
    assert browser.find_element(By.CSS_SELECTOR, 'g.node[data-step="check"]').get_attribute("data-status") == "failed"
    browser.save_screenshot(str(SHOTS / "execution.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "status of 401" not in e["message"]]  # the 401 before the key was entered
    assert not errors, errors

    # Rerun from the failed step: a new execution that reuses the steps before it
    browser.find_element(By.CSS_SELECTOR, "form[data-action=rerun] button").click()
    wait(browser, lambda d: d.current_url.rstrip("/").rsplit("/", 1)[1] not in (eid, "")
         and d.find_elements(By.CSS_SELECTOR, "section.execution"))
    rerun = browser.find_element(By.CSS_SELECTOR, "section.execution")
    assert rerun.get_attribute("data-id") != eid and f'href="/ui/executions/{eid}"' in rerun.get_attribute(
        "innerHTML")
    assert "reused" in browser.execute_script(
        "return document.querySelector('g.bar[data-step=\"split\"]').textContent")

    browser.get(srv.url + "ui/workflows/showcase")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.wfx-graph g.node"))
    nodes = {g.get_attribute("data-step") for g in browser.find_elements(By.CSS_SELECTOR, "svg.wfx-graph g.node")}
    assert {"split", "count", "upper", "pause", "join", "each", "check"} <= nodes
    browser.save_screenshot(str(SHOTS / "workflow.png"))


def test_a_running_execution_updates_live_and_cancel_works_from_the_page(
        site: tuple[Served, UiKeys], browser: WebDriver) -> None:
    srv, keys = site
    started = srv.tool(keys.alice, "execute_workflow", workflow_name="slow", input_data={"seconds": 0.4},
                       execution_mode="async")
    eid = started["structuredContent"]["execution_id"]
    sign_in(browser, srv.url + f"ui/executions/{eid}", keys.alice)
    browser.execute_script("window.__same_page = 1")

    def done_steps(d: WebDriver) -> int:
        return len(d.find_elements(By.CSS_SELECTOR, 'g.bar[data-status="completed"]'))

    first = done_steps(browser)
    wait(browser, lambda d: done_steps(d) >= first + 2)  # updated in place while it runs
    assert browser.execute_script("return window.__same_page") == 1
    assert browser.execute_script("return document.body.dataset.polling") is None  # over SSE
    browser.save_screenshot(str(SHOTS / "live.png"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=cancel]").click() or True)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-status")
         == "cancelled")
    assert "cancel" in wait(browser, lambda d: d.find_element(By.ID, "flash").text.lower())
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-action=cancel]")
    browser.save_screenshot(str(SHOTS / "cancelled.png"))


def test_a_caller_without_the_cancel_scope_sees_no_button_and_is_refused(
        site: tuple[Served, UiKeys], browser: WebDriver) -> None:
    srv, keys = site
    # long enough (7 x 0.6 s) that the page is still live after signing in on a loaded machine
    started = srv.tool(keys.bob, "execute_workflow", workflow_name="slow", input_data={"seconds": 0.6},
                       execution_mode="async")
    eid = started["structuredContent"]["execution_id"]
    sign_in(browser, srv.url + f"ui/executions/{eid}", keys.bob)
    assert browser.find_element(By.ID, "who").text.startswith("bob")
    # the live page swaps its section as the run moves on: read it through wait(), which retries stale reads
    assert wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-live")
                == "1")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-action=cancel]")
    refused = srv.tool(keys.bob, "cancel_execution", execution_id=eid)
    assert refused["isError"] is True and refused["structuredContent"]["code"] == "forbidden"
    # alice may cancel her own runs, but bob's is not hers to see
    hidden = srv.tool(keys.alice, "cancel_execution", execution_id=eid)
    assert hidden["structuredContent"]["code"] == "not_found"
    # the page follows the run to its end (and the server is not stopped under a running task)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-status")
         == "completed")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-action=cancel]")
    browser.find_element(By.ID, "forget").click()
    wait(browser, lambda d: d.find_element(By.ID, "keyform").is_displayed())


def test_the_page_polls_when_the_event_stream_cannot_be_had(site: tuple[Served, UiKeys], browser: WebDriver) -> None:
    srv, keys = site
    started = srv.tool(keys.alice, "execute_workflow", workflow_name="slow", input_data={"seconds": 0.25},
                       execution_mode="async")
    eid = started["structuredContent"]["execution_id"]
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/events"]})  # as a buffering proxy would
    try:
        sign_in(browser, srv.url + f"ui/executions/{eid}", keys.alice)
        wait(browser, lambda d: d.execute_script("return document.body.dataset.polling") == "1")
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-status")
             == "completed")
        assert len(bars(browser)) == 8
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
