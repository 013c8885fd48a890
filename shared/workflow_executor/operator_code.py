"""The operator's own functions and tools: one folder (``WFX_OPERATOR_CODE``, default
``./operator_code``) of modules and an optional ``requirements.txt``, put on the import path of
every process that runs steps; ``wfx serve``, its jobs, the stack, the functions' source zip
and the job image all carry it. Modules in it are still only used when allow-listed
(``WFX_FUNCTION_MODULES`` / ``WFX_TOOL_MODULES``)."""

from __future__ import annotations

import os
import sys

from .settings import Settings


def path_entry(settings: Settings) -> str | None:
    """The folder as an absolute import-path entry, or None when there is none."""
    folder = settings.operator_code
    if folder is None or not folder.is_dir():
        return None
    return str(folder.resolve())


def activate(settings: Settings) -> None:
    """Put the operator's folder first on this process's import path (once)."""
    entry = path_entry(settings)
    if entry is not None and entry not in sys.path:
        sys.path.insert(0, entry)


def with_pythonpath(settings: Settings, pythonpath: str | None) -> str | None:
    """``pythonpath`` with the operator's folder in front: what a job process is started with."""
    entry = path_entry(settings)
    parts = [p for p in (entry, *(pythonpath or "").split(os.pathsep)) if p]
    return os.pathsep.join(dict.fromkeys(parts)) or None
