"""Web view figures: the page of a 200-step execution in headless Chromium (navigation to a
drawn timeline), the server's time for that view, and what serving /ui adds to the function's
cold import (nothing: the ui package is imported by the first /ui request)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from .mcp_bench import ROOT, _free_port

STEPS = 200
_PROBE = """
import json, sys, time
sys.path.insert(0, {funcs!r})
import main, workflow_executor.mcp.http
loaded = any(m.startswith("workflow_executor.ui") for m in sys.modules)
t = time.perf_counter()
import workflow_executor.ui.routes
print(json.dumps({{"loaded": loaded, "ui_ms": (time.perf_counter() - t) * 1000}}))
"""


def cold_import() -> tuple[bool, float]:
    """(any ui module loaded by the cold import, median ms the first /ui request spends importing it)."""
    loaded, ms = False, []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(funcs=str(ROOT / "functions"))],
                             capture_output=True, text=True, check=True, cwd=ROOT,
                             env={**os.environ, "WFX_HOME": tempfile.gettempdir()})
        data = json.loads(out.stdout.strip().splitlines()[-1])
        loaded = loaded or data["loaded"]
        ms.append(data["ui_ms"])
    return loaded, statistics.median(ms)


def page_times(loads: int = 5) -> tuple[list[float], list[float]]:
    """ms per page load of a 200-step execution in headless Chromium, and per server view."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    from workflow_executor.api import Executor
    from workflow_executor.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        steps = "".join(f"{{id: s{i}, function: builtins.noop}}, " for i in range(STEPS))
        with Executor.local(settings=replace(Settings.from_env({}), home=Path(home))) as setup:
            setup.register(f"workflows: {{bench200: {{steps: [{steps}]}}}}")
            eid = setup.run("bench200", {}).id
        port = _free_port()
        env = {**os.environ, "WFX_HOME": home}
        env.pop("WFX_API_KEYS", None)
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.mcp.serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            opts.add_argument(arg)
        drv = None
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(url + "healthz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("wfx serve did not become ready")
                time.sleep(0.05)
            server = []
            for _ in range(loads + 1):
                t = time.perf_counter()
                r = requests.get(f"{url}ui/api/executions/{eid}", timeout=30)
                server.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and r.text.count('class="bar"') == STEPS
            drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
            page = []
            for _ in range(loads + 1):
                drv.get("about:blank")
                t = time.perf_counter()
                drv.get(f"{url}ui/executions/{eid}")
                WebDriverWait(drv, 30, poll_frequency=0.005).until(
                    lambda d: d.execute_script("return document.querySelectorAll('g.bar').length") == STEPS)
                page.append((time.perf_counter() - t) * 1000)
        finally:
            if drv is not None:
                drv.quit()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
    return page[1:], server[1:]  # the first of each warms caches


def run() -> list[dict[str, Any]]:
    loaded, ui_ms = cold_import()
    page, server = page_times()
    return [
        {"metric": f"page of a {STEPS}-step execution in headless Chromium, navigation to drawn timeline (median)",
         "value": statistics.median(page), "unit": "ms", "target": "< 1000"},
        {"metric": f"server time of that view (/ui/api/executions/ID, {STEPS} steps, median)",
         "value": statistics.median(server), "unit": "ms", "target": "(reference)"},
        {"metric": "function cold import loads the ui package", "value": "yes" if loaded else "no", "unit": "",
         "target": "no"},
        {"metric": "first /ui request imports the ui package (median)", "value": ui_ms, "unit": "ms",
         "target": "(reference)"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
