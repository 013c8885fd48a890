"""Once a key source exists, the server never runs open: a truncated keys file, ``{"keys": []}``
after revoking the last key, or only malformed entries make ``wfx serve`` refuse to start with a
clear message (and a running server deny everyone); open mode only when no key source exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_executor.mcp.auth import KeyRing, create_key
from workflow_executor.settings import Settings

DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "last key revoked": lambda text: json.dumps({"keys": []}),
    "all entries malformed": lambda text: json.dumps({"keys": [{"id": 1}, "x", {"salt": "zz"}]}),
    "empty file": lambda text: "",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_keys_file_never_opens_the_server(tmp_path: Path, damage: str) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    assert settings.api_keys_file is not None
    create_key(settings, ["run"], None, "erin")
    settings.api_keys_file.write_text(DAMAGE[damage](settings.api_keys_file.read_text()))
    ring = KeyRing(settings)
    assert ring.configured is True and ring.problem() is not None
    env = {k: v for k, v in os.environ.items() if k != "WFX_API_KEYS"}
    out = subprocess.run([sys.executable, "-m", "workflow_executor.mcp.serve", "--port", "0"],
                         env={**env, "WFX_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stdout
    assert "refusing to start" in out.stderr and "keys.json" in out.stderr


def test_open_mode_only_when_no_key_source_exists(tmp_path: Path) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path)})
    ring = KeyRing(settings)
    assert ring.configured is False and ring.problem() is None
    assert settings.api_keys_file is not None
    settings.api_keys_file.write_text('{"keys": []}')  # appears while running: closed from now on
    assert ring.configured is True
    assert ring.authenticate({"authorization": "Bearer wfx_0_x"}) is None
