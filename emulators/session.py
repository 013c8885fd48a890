"""Emulators shared by one test session: each starts once, on first use, and ``stop_all`` (the
suites' session fixtures; at exit as a safety net) stops exactly those. Starting one sets its
FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST for this process, where the clients look."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from emulators.gcp import EmulatorProcess, start_firestore, start_pubsub

PROJECT = "wfx-test"

_lock = threading.Lock()
_running: dict[str, Any] = {}


def firestore() -> EmulatorProcess:
    """The session's Firestore emulator (started on first call)."""
    return _get("firestore", start_firestore)  # type: ignore[no-any-return]


def pubsub() -> EmulatorProcess:
    """The session's Pub/Sub emulator (started on first call)."""
    return _get("pubsub", start_pubsub)  # type: ignore[no-any-return]


def cloud_tasks() -> Any:
    """The session's in-process Cloud Tasks emulator (``.address`` is host:port)."""
    from emulators.cloud_tasks.server import CloudTasksEmulator

    return _get("cloud_tasks", lambda: CloudTasksEmulator("127.0.0.1", 0, min_dispatch_deadline=1.0).start())


def firestore_client() -> Any:
    """A new client of the session's Firestore emulator; the caller closes it."""
    firestore()
    from google.cloud import firestore as fs

    return fs.Client(project=PROJECT)


def _get(name: str, start: Any) -> Any:
    with _lock:
        proc = _running.get(name)
        if proc is None:
            proc = _running[name] = start()
            if isinstance(proc, EmulatorProcess):
                os.environ.update(proc.env)
        return proc


def stop_all() -> None:
    """Stop every emulator this module started (by process group for the Java ones)."""
    with _lock:
        procs = list(_running.values())
        _running.clear()
    for proc in procs:
        proc.stop()
        if isinstance(proc, EmulatorProcess):
            os.environ.pop(proc.env_var, None)


atexit.register(stop_all)
