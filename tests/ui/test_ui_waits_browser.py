"""A waiting run in the web view (headless Chromium against a real ``wfx serve``): Approve from
the page resumes it, and a step with a payload_schema gets a form whose fields are the payload."""

from __future__ import annotations

from selenium.common.exceptions import ElementNotInteractableException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from test_ui_browser import SHOTS, browser, sign_in, site, wait  # noqa: F401 (fixtures)
from ui_support import Served, UiKeys

WAITS = """
workflows:
  approve_page:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 600}
        output: {to: user}
  form_page:
    steps:
      - id: details
        wait_for:
          event: details
          payload_schema: {type: object, properties: {amount: {type: number}, note: {type: string}}}
        output: {to: user}
  ask_page:
    steps:
      - {id: confirm, tool: ask_human, params: {question: "Ship order 42 to Oslo?", choices: ["ship", "hold"]}}
      - {id: after, function: builtins.echo, args: {value: "${confirm.output}"}, output: {to: user}}
  free_page:
    steps:
      - {id: why, tool: ask_human, params: {question: "Why was it held?"}}
      - {id: after, function: builtins.echo, args: {value: "${why.output}"}, output: {to: user}}
"""

EVENT_BUTTON = "button[data-action=send-event]"


def started(srv: Served, key: str, workflow: str) -> str:
    res = srv.tool(key, "execute_workflow", workflow=WAITS, workflow_name=workflow, input_data={},
                   execution_mode="async")
    assert res["isError"] is False, res
    return str(res["structuredContent"]["execution_id"])


def opened(srv: Served, keys: UiKeys, drv: WebDriver, workflow: str) -> str:
    """Start ``workflow`` as alice and open its page signed in as her; its execution id."""
    eid = started(srv, keys.alice, workflow)
    sign_in(drv, srv.url + f"ui/executions/{eid}", keys.alice)
    return eid


def status_of(drv: WebDriver) -> str:
    return str(drv.find_element(By.CSS_SELECTOR, "section.execution").get_attribute("data-status"))


def typed(drv: WebDriver, name: str, text: str) -> bool:
    """Type ``text`` into the field; False (look again) when a re-render took the field away meanwhile."""
    field = drv.find_element(By.CSS_SELECTOR, f"form[data-action=send-event] [name='{name}']")
    try:
        field.clear()
        field.send_keys(text)
    except ElementNotInteractableException:
        return False
    return field.get_attribute("value") == text


def test_a_refresh_keeps_what_was_typed_into_the_form(site: tuple[Served, UiKeys], browser: WebDriver) -> None:  # noqa: F811
    srv, keys = site
    opened(srv, keys, browser, "form_page")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form[data-action=send-event]"))
    wait(browser, lambda d: typed(d, "ev:note", "half typed"))
    old = browser.find_element(By.CSS_SELECTOR, "form[data-action=send-event]")
    browser.execute_script("window.dispatchEvent(new Event('focus'))")  # the page refreshes on focus
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-action=send-event]") != old)
    note = browser.find_element(By.CSS_SELECTOR, "form[data-action=send-event] [name='ev:note']")
    assert note.get_attribute("value") == "half typed"


def test_approve_on_a_waiting_runs_page_resumes_it(site: tuple[Served, UiKeys], browser: WebDriver) -> None:  # noqa: F811
    srv, keys = site
    eid = opened(srv, keys, browser, "approve_page")
    wait(browser, lambda d: status_of(d) == "waiting")
    assert "Waiting for event 'approval'" in browser.find_element(By.CSS_SELECTOR, "div.waiting").text
    browser.save_screenshot(str(SHOTS / "waiting.png"))
    labels = wait(browser, lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, EVENT_BUTTON)])
    assert labels == ["Approve", "Reject"]
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, EVENT_BUTTON).click() or True)
    wait(browser, lambda d: status_of(d) == "completed")
    done = srv.tool(keys.alice, "check_execution_status", execution_id=eid)["structuredContent"]
    assert done["result"] == {"approved": True}


def test_a_payload_schema_gets_a_form_whose_fields_are_the_payload(
        site: tuple[Served, UiKeys], browser: WebDriver) -> None:  # noqa: F811
    srv, keys = site
    eid = opened(srv, keys, browser, "form_page")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form[data-action=send-event]"))
    # the live page may re-render between looks: each action finds its element afresh
    wait(browser, lambda d: typed(d, "ev:amount", "12.5"))
    wait(browser, lambda d: typed(d, "ev:note", "ok by me"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-action=send-event] button[type=submit]").click()
         or True)
    wait(browser, lambda d: status_of(d) == "completed")
    done = srv.tool(keys.alice, "check_execution_status", execution_id=eid)["structuredContent"]
    assert done["result"] == {"amount": 12.5, "note": "ok by me"}


def test_an_agents_question_shows_in_full_with_a_button_per_choice_that_answers_it(
        site: tuple[Served, UiKeys], browser: WebDriver) -> None:  # noqa: F811
    srv, keys = site
    eid = opened(srv, keys, browser, "ask_page")
    wait(browser, lambda d: status_of(d) == "waiting")
    assert browser.find_element(By.CSS_SELECTOR, "div.waiting p.question").text == "Ship order 42 to Oslo?"
    labels = wait(browser, lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, EVENT_BUTTON)])
    assert labels == ["ship", "hold"]
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, EVENT_BUTTON)[1].click() or True)
    wait(browser, lambda d: status_of(d) == "completed")
    assert srv.tool(keys.alice, "check_execution_status", execution_id=eid)["structuredContent"]["result"] == "hold"


def test_a_question_without_choices_gets_an_answer_field(site: tuple[Served, UiKeys], browser: WebDriver) -> None:  # noqa: F811
    srv, keys = site
    eid = opened(srv, keys, browser, "free_page")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form[data-action=send-event]"))
    wait(browser, lambda d: typed(d, "ev:answer", "the address was wrong"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-action=send-event] button[type=submit]").click()
         or True)
    wait(browser, lambda d: status_of(d) == "completed")
    done = srv.tool(keys.alice, "check_execution_status", execution_id=eid)["structuredContent"]
    assert done["result"] == "the address was wrong"
