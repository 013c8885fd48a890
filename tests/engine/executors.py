"""Build executors on an embedded backend with the engine test functions allowed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from workflow_executor.api import Executor
from workflow_executor.settings import Settings

ALLOWED = ("engine_fns",)


def make_executor(tmp: Path, store: str, **over: Any) -> Executor:
    s = Settings.from_env({"WFX_HOME": str(tmp / "home"), "WFX_FILES_ROOT": str(tmp / "files")})
    s = replace(s, store=store, function_modules=ALLOWED, **over)
    return Executor.local(settings=s)
