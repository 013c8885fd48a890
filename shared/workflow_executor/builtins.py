"""Built-in functions that every workflow may call as ``builtins.<name>`` (or just ``<name>``).

They are pure or touch only files under the directory the caller names; each takes keyword
arguments and returns JSON-compatible values.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import TerminalStepError


def files_path(path: str) -> Path:
    """``path`` inside the operator's files root (``WFX_FILES_ROOT``, default ``./.wfx/files``);
    anything that escapes it is refused, so a remote caller cannot touch other files."""
    root = Path(os.environ.get("WFX_FILES_ROOT") or Path(os.environ.get("WFX_HOME", ".wfx")) / "files")
    root = root.resolve()
    p = (root / path).resolve()
    if p != root and root not in p.parents:
        raise TerminalStepError(f"path '{path}' is outside the files root; use a path relative to it")
    return p


def noop(**_: Any) -> None:
    """Do nothing (benchmarks, placeholders)."""
    return None


def echo(value: Any = None, **kwargs: Any) -> Any:
    """Return ``value`` (or the keyword arguments when no value is given)."""
    return value if value is not None else kwargs


def sleep(seconds: float = 0.0, value: Any = None) -> Any:
    """Wait ``seconds`` (at most 300), then return ``value``."""
    time.sleep(min(max(float(seconds), 0.0), 300.0))
    return value


def fail(message: str = "failed on purpose", retryable: bool = False) -> None:
    """Raise an error (for tests and examples of error handling)."""
    if retryable:
        raise RuntimeError(message)
    raise TerminalStepError(message)


def length(value: Any) -> int:
    return len(value)


def total(values: list[float]) -> float:
    return float(sum(values))


def split(text: str, sep: str | None = None) -> list[str]:
    return [p.strip() for p in str(text).split(sep) if p.strip()]


def join(values: list[Any], sep: str = ", ") -> str:
    return sep.join(str(v) for v in values)


def merge(*dicts: dict[str, Any], **named: Any) -> dict[str, Any]:
    """Merge dicts (``dicts`` or ``items`` list) into one; later keys win."""
    out: dict[str, Any] = {}
    for d in dicts:
        out.update(d)
    for d in named.pop("items", []) or []:
        out.update(d)
    out.update(named)
    return out


def profile_csv(text: str | None = None, path: str | None = None) -> dict[str, Any]:
    """Profile CSV data: rows, and per column the type, missing count and numeric summary."""
    if text is None:
        if path is None:
            raise TerminalStepError("profile_csv needs text or path")
        try:
            text = files_path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # the message must not carry the server's path
            # the setting, never the server's path: a remote caller learns what to ask for
            raise TerminalStepError(f"cannot read '{path}' under the files root (WFX_FILES_ROOT, default "
                                    f"$WFX_HOME/files): {getattr(exc, 'strerror', None) or type(exc).__name__}",
                                    fix="put the file there, or set WFX_FILES_ROOT to its folder when starting "
                                        "wfx (e.g. WFX_FILES_ROOT=examples/data)") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    columns: dict[str, Any] = {}
    for name in rows[0].keys() if rows else []:
        values = [r.get(name) or "" for r in rows]
        present = [v for v in values if v.strip()]
        nums: list[float] = []
        for v in present:
            try:
                nums.append(float(v))
            except ValueError:
                break
        col: dict[str, Any] = {"missing": len(values) - len(present)}
        if present and len(nums) == len(present):
            col.update(type="number", min=min(nums), max=max(nums), mean=round(statistics.fmean(nums), 4))
        else:
            col.update(type="text", distinct=len(set(present)))
        columns[name] = col
    return {"rows": len(rows), "columns": columns}


def write_text(path: str, text: str) -> dict[str, Any]:
    """Write ``text`` to ``path`` (parents created); returns the path and size."""
    p = files_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return {"path": path, "bytes": len(text.encode("utf-8"))}  # never the server's absolute path


def validate_record(record: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """Check that ``required`` keys are present and non-empty."""
    missing = [k for k in required if record.get(k) in (None, "", [])]
    return {"valid": not missing, "missing": missing, "record": record}


def fill_defaults(record: dict[str, Any], defaults: dict[str, Any], count: int = 1) -> dict[str, Any]:
    """Fill at most ``count`` empty fields of ``record`` from ``defaults`` (a repair step that a
    loop calls with a growing ``count``)."""
    out = dict(record)
    left = int(count)
    for k, v in defaults.items():
        if left <= 0:
            break
        if out.get(k) in (None, "", []):
            out[k] = v
            left -= 1
    return out


_ROUTE_KEYS = ("route", "next", "agent", "choice", "destination", "to")


def choose_route(reply: Any, routes: list[str]) -> str:
    """The route an agent's reply names, for ``a -> (b | c)`` in simple syntax: the reply
    (text, or a mapping whose ``route``/``next``/``agent``/``choice`` names it) equal to a route,
    else the route it mentions first (a whole word, any case), else the first route."""
    if not routes:
        raise TerminalStepError("choose_route needs at least one route")
    names = [str(r) for r in routes]
    if isinstance(reply, dict):
        reply = next((reply[k] for k in _ROUTE_KEYS if isinstance(reply.get(k), str)), json.dumps(reply))
    text = str(reply if reply is not None else "").strip()
    bare = text.strip(" \t\n\"'`.!").lower()
    for name in names:
        if bare == name.lower():
            return name
    hits = []
    for name in names:
        m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I)
        if m:
            hits.append((m.start(), name))
    return min(hits)[1] if hits else names[0]


REGISTRY: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (noop, echo, sleep, fail, length, total, split, join, merge, profile_csv,
              write_text, validate_record, fill_defaults, choose_route)
}
