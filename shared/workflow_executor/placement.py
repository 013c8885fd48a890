"""Where an isolated run went: each job start is journaled with its profile, and a run whose job
the infrastructure ended (killed for memory, quota, the region unavailable) moves to its
profile's fallback once. The job runners decide and start; this module keeps the record."""

from __future__ import annotations

import re
import time
from typing import Any

from .models import Execution
from .ports import ExecutionStore
from .profiles import Profile
from .settings import Settings

JOURNAL_KEY = "placement"
# What Cloud Run reports for a task the platform ended: out of memory, or killed by a signal
# (exit code 128+N; 137 is SIGKILL). Exit code 1 is the job's own crash, 75 its ask to retry.
_MEMORY = re.compile(r"memory limit", re.IGNORECASE)
_EXIT = re.compile(r"exit code of (\d+)")


def infrastructure_cause(message: str) -> bool:
    """True when a Cloud Run job execution's failure message names the infrastructure."""
    if _MEMORY.search(message) or "signal" in message.lower():
        return True
    m = _EXIT.search(message)
    return m is not None and int(m.group(1)) >= 128


def record(store: ExecutionStore, execution_id: str, profile: str | None, *, job: str,
           recovered_from: str | None = None, cause: str | None = None) -> None:
    """Journal one job start of ``execution_id`` (appended; a concurrent start takes the next index)."""
    entry: dict[str, Any] = {"profile": profile, "job": job, "at_s": time.time()}
    if recovered_from is not None:
        entry.update(recovered_from=recovered_from, cause=cause or "")
    index = len(store.load_turns(execution_id, JOURNAL_KEY))
    while store.record_turn(execution_id, JOURNAL_KEY, index, entry) != entry:
        index += 1


def history(store: ExecutionStore, execution_id: str) -> list[dict[str, Any]]:
    return [dict(t) for t in store.load_turns(execution_id, JOURNAL_KEY)]


def current(ex: Execution, store: ExecutionStore) -> str | None:
    """The profile the run's latest job was started on (its target_instance before any start)."""
    entries = history(store, ex.id)
    return str(entries[-1]["profile"]) if entries and entries[-1].get("profile") else ex.profile


def fallback(settings: Settings, store: ExecutionStore, ex: Execution) -> Profile | None:
    """The profile a run the infrastructure ended resumes on: its profile's fallback, unless
    the run was moved once already (or has no profile, or the profile no fallback)."""
    entries = history(store, ex.id)
    if ex.profile is None or any(e.get("recovered_from") for e in entries):
        return None
    profile = settings.profiles.get(ex.profile)
    if profile is None or profile.fallback is None:
        return None
    return settings.profiles.get(profile.fallback)


def view(ex: Execution, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the status shows: the requested profile, where it runs now, and a recovery."""
    if ex.profile is None:
        return None
    out: dict[str, Any] = {"target_instance": ex.profile,
                           "profile": entries[-1].get("profile") if entries else ex.profile}
    moved = next((e for e in entries if e.get("recovered_from")), None)
    if moved is not None:
        out["recovered"] = {"from": moved["recovered_from"], "to": moved.get("profile"), "cause": moved.get("cause"),
                            "at": moved.get("at_s")}
    return out
