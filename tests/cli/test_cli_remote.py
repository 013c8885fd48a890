"""`wfx --url URL` (or WFX_URL + WFX_API_KEY): the same commands and the same output, done
through a real endpoint over HTTP; `wfx register` locally and through the admin-only
register_workflow tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import eventually
from wfx_procs import ROOT, serving


def wfx(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("WFX_URL", "WFX_API_KEY")}
    full.update(WFX_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A keyed server; yields its URL, keys by role, and a client home that must stay empty."""
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    home = tmp_path_factory.mktemp("server")
    settings = Settings.from_env({"WFX_HOME": str(home)})
    keys = {"admin": create_key(settings, ["admin"], None, "ops"),
            "runner": create_key(settings, ["run", "read", "cancel"], None, "agent")}
    with serving(home) as url:
        yield url, keys, tmp_path_factory.mktemp("client")


def test_run_prints_the_same_as_locally_and_runs_on_the_server(
        endpoint: tuple[str, dict[str, str], Path], tmp_path: Path) -> None:
    url, keys, client = endpoint
    local = wfx(tmp_path, "run", "examples/fan_out.yaml", "--input", '"a, b"')
    remote = wfx(client, "run", "examples/fan_out.yaml", "--input", '"a, b"', WFX_URL=url,
                 WFX_API_KEY=keys["runner"])

    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.splitlines()[0].split()[1:] == local.stdout.splitlines()[0].split()[1:]
    assert remote.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]
    assert not (client / "wfx.db").exists()  # nothing ran or was stored on the client side


def test_status_executions_watch_and_cancel_go_through_the_endpoint(
        endpoint: tuple[str, dict[str, str], Path]) -> None:
    url, keys, client = endpoint
    env = {"WFX_URL": url, "WFX_API_KEY": keys["runner"]}
    slow = client / "slow.yaml"
    slow.write_text("workflows:\n  slow:\n    steps:\n" + "".join(
        f"      - {{id: s{i}, function: builtins.sleep, args: {{seconds: 0.3}}}}\n" for i in range(200)))
    started = wfx(client, "run", str(slow), "--mode", "async", "--json", **env)
    assert started.returncode == 0, started.stderr
    eid = json.loads(started.stdout)["execution_id"]
    eventually(lambda: json.loads(wfx(client, "status", eid, "--json", **env).stdout)["status"] == "running",
               timeout=30, interval=0.1, what="the remote async run to start")

    listed = wfx(client, "executions", "--status", "running", **env)
    cancelled = wfx(client, "cancel", eid, **env)
    watched = wfx(client, "watch", eid, "--interval", "0.05", **env)

    assert listed.stdout.split()[:3] == [eid, "slow", "running"]
    assert cancelled.returncode == 0 and f"{eid} cancelled (cancelled; it was running)" in cancelled.stdout
    assert f"{eid}  slow  cancelled" in watched.stdout
    assert watched.returncode == 1  # a cancelled run is not a success, as locally


def test_validate_reports_the_servers_findings_like_the_local_command(
        endpoint: tuple[str, dict[str, str], Path], tmp_path: Path) -> None:
    url, keys, client = endpoint
    local = wfx(tmp_path, "validate", "examples/invalid/bad.yaml")
    remote = wfx(client, "--url", url, "--api-key", keys["runner"], "validate", "examples/invalid/bad.yaml")

    assert remote.returncode == local.returncode == 1
    assert remote.stdout == local.stdout


def test_register_needs_an_admin_key_and_then_the_name_runs_for_every_caller(
        endpoint: tuple[str, dict[str, str], Path]) -> None:
    url, keys, client = endpoint
    doc = client / "greet.yaml"
    doc.write_text("workflows:\n  greet:\n    steps:\n"
                   "      - {id: a, function: builtins.echo, args: {value: \"hello ${user_input}\"}}\n")

    refused = wfx(client, "--url", url, "--api-key", keys["runner"], "register", str(doc))
    stored = wfx(client, "--url", url, "--api-key", keys["admin"], "register", str(doc))
    listed = wfx(client, "--url", url, "--api-key", keys["runner"], "list")
    nokey = wfx(client, "--url", url, "list")
    local_home = client.parent / f"{client.name}-local"
    wfx(local_home, "register", str(doc))
    local = wfx(local_home, "list")

    assert refused.returncode == 1 and "[forbidden]" in refused.stderr
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.startswith("registered greet  v1")
    # the same line as `wfx list` prints locally for the same document: name, version, hash
    assert local.stdout.splitlines() == ["greet  v1  " + local.stdout.split()[2]]
    assert local.stdout.splitlines()[0] in listed.stdout.splitlines()
    assert nokey.returncode == 1 and "WFX_API_KEY" in nokey.stderr


def test_register_locally_takes_a_folder_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.yaml").write_text(
            f"workflows:\n  {name}:\n    steps:\n      - {{id: a, function: builtins.noop}}\n")

    out = wfx(tmp_path / "home", "register", str(folder), "--json")
    listed = wfx(tmp_path / "home", "list", "--json")

    assert out.returncode == 0, out.stderr
    assert [r["name"] for r in json.loads(out.stdout)] == ["one", "two"]
    assert {r["name"] for r in json.loads(listed.stdout)} == {"one", "two"}


def test_rerun_through_the_endpoint_prints_the_same_as_locally(
        endpoint: tuple[str, dict[str, str], Path], tmp_path: Path) -> None:
    url, keys, client = endpoint
    env = {"WFX_URL": url, "WFX_API_KEY": keys["runner"]}

    def first_then_rerun(home: Path, **env: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        first = wfx(home, "run", "examples/fan_out.yaml", "--input", '"a, b"', "--json", **env)
        eid = json.loads(first.stdout)["execution_id"]
        return eid, wfx(home, "rerun", eid, "--from-step", "each", **env)

    _, local = first_then_rerun(tmp_path)
    remote_id, remote = first_then_rerun(client, **env)
    shown = json.loads(wfx(client, "status", remote.stdout.split()[0], "--json", **env).stdout)

    assert remote.returncode == local.returncode == 0, remote.stderr
    assert remote.stdout.split()[0] != remote_id  # a new execution, on the server
    assert remote.stdout.splitlines()[0].split()[1:] == local.stdout.splitlines()[0].split()[1:]
    assert remote.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]
    assert shown["status"] == "completed" and shown["result"] == ["word 0: a", "word 1: b"]


def test_watch_through_the_endpoint_shows_the_step_tree_like_the_local_command(
        endpoint: tuple[str, dict[str, str], Path], tmp_path: Path) -> None:
    url, keys, client = endpoint
    env = {"WFX_URL": url, "WFX_API_KEY": keys["runner"]}
    done = json.loads(wfx(client, "run", "examples/fan_out.yaml", "--input", '"a, b"', "--json", **env).stdout)
    watched = wfx(client, "watch", done["execution_id"], **env)
    assert watched.returncode == 0, watched.stderr
    tree = watched.stdout.splitlines()
    assert tree[0].startswith("✓ fan_out  completed  6/6 steps")
    assert sorted(line.split()[2] for line in tree[1:7]) == ["count", "each", "join", "pause", "split", "upper"]


@pytest.mark.parametrize("where", ["local", "remote"])
def test_executions_searches_by_error_words_time_and_id_prefix(
        endpoint: tuple[str, dict[str, str], Path], tmp_path: Path, where: str) -> None:
    url, keys, client = endpoint
    env = {"WFX_URL": url, "WFX_API_KEY": keys["runner"]} if where == "remote" else {}
    home = client if where == "remote" else tmp_path
    doc = tmp_path / "boom.yaml"
    doc.write_text("workflows:\n  boom:\n    steps:\n"
                   "      - {id: b, function: builtins.fail, args: {message: 'the disk quota ran out'}}\n")
    failed = json.loads(wfx(home, "run", str(doc), "--json", **env).stdout)["execution_id"]
    fine = json.loads(wfx(home, "run", "examples/fan_out.yaml", "--input", '"a"', "--json", **env).stdout)

    found = wfx(home, "executions", "--error", "QUOTA disk", "--since", "1h", "--json", **env)
    by_id = wfx(home, "executions", "--id", fine["execution_id"][:10], "--json", **env)
    later = wfx(home, "executions", "--since", "2999-01-01T00:00:00+00:00", **env)
    wrong = wfx(home, "executions", "--until", "next week", **env)

    assert [e["execution_id"] for e in json.loads(found.stdout)] == [failed]
    assert [e["execution_id"] for e in json.loads(by_id.stdout)] == [fine["execution_id"]]
    assert (later.returncode, later.stdout) == (0, "") and "no executions match" in later.stderr
    assert wrong.returncode == 2 and "--until: not a time: 'next week'" in wrong.stderr
