"""Schedules: cron reading, validation of `schedules:` in a document, and `wfx serve` starting a
registered workflow on its schedule (twice, with a one-second period), seen with `wfx --url`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import eventually
from wfx_procs import ROOT, serving
from workflow_executor.cron import Cron, CronError


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _iso(epoch_s: float, zone: str = "UTC") -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(epoch_s, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %a")


@pytest.mark.parametrize(("expr", "zone", "after", "expected"), [
    ("*/15 * * * *", "UTC", "2026-03-02T10:07:00", "2026-03-02 10:15:00 Mon"),
    ("0 3 * * 1-5", "Europe/Stockholm", "2026-03-06T05:00:00", "2026-03-09 03:00:00 Mon"),  # skips the weekend
    ("30 2 1 * 0", "UTC", "2026-03-02T00:00:00", "2026-03-08 02:30:00 Sun"),  # day OR weekday, as in cron
    ("*/2 * * * * *", "UTC", "2026-03-02T10:00:01", "2026-03-02 10:00:02 Mon"),  # six fields: seconds first
])
def test_cron_finds_the_next_firing(expr: str, zone: str, after: str, expected: str) -> None:
    assert _iso(Cron.parse(expr, zone).next_after(_at(after)), zone) == expected


@pytest.mark.parametrize(("expr", "zone"), [("61 * * * *", "UTC"), ("* * *", "UTC"), ("0 3 * * *", "Mars/Base")])
def test_a_bad_cron_or_zone_is_refused(expr: str, zone: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expr, zone)


def wfx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WFX_URL", "WFX_API_KEY")}
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT,
                          env={**env, "WFX_HOME": str(home)}, capture_output=True, text=True, timeout=60)


def test_validate_names_a_bad_schedule(tmp_path: Path) -> None:
    doc = tmp_path / "bad.yaml"
    doc.write_text("workflows:\n  t:\n    steps: [{id: a, function: builtins.noop}]\n"
                   "schedules: [{cron: '0 25 * * *'}, {cron: '0 3 * * *', workflow: nope}]\n")

    out = json.loads(wfx(tmp_path, "validate", str(doc), "--json").stdout)[0]

    assert {e["path"] for e in out["errors"]} == {"schedules[0].cron", "schedules[1].workflow"}


def test_serve_starts_a_registered_schedule_on_time_and_every_firing_once(tmp_path: Path) -> None:
    doc = tmp_path / "tick.yaml"
    doc.write_text("workflows:\n  tick:\n    steps:\n"
                   "      - {id: a, function: builtins.echo, args: {value: \"${user_input}\"}}\n"
                   "schedule: {cron: '* * * * * *', time_zone: Europe/Stockholm, input: {user_input: tock}}\n")
    client = tmp_path / "client"
    with serving(tmp_path / "server", WFX_SCHEDULE_MIN_INTERVAL_S="1") as url:
        registered = wfx(client, "--url", url, "register", str(doc))
        assert registered.returncode == 0, registered.stderr

        def two_done() -> list[dict[str, object]]:
            rows = json.loads(wfx(client, "--url", url, "executions", "--workflow", "tick", "--json").stdout)
            done = [r for r in rows if r["status"] == "completed"]
            return done if len(done) >= 2 else []

        done = eventually(two_done, timeout=40, interval=0.3, what="two scheduled runs")
        first = json.loads(wfx(client, "--url", url, "status", str(done[-1]["execution_id"]), "--json").stdout)

    assert first["result"] == "tock"
    assert len({r["execution_id"] for r in done}) == len(done)
