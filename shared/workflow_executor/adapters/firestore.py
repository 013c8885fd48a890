"""Firestore backends: the factory ``services.py`` calls. The store lives in
``firestore_store.py``, the registry in ``firestore_registry.py``, the client and the helpers
they share in ``firestore_client.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import Settings
from .firestore_client import client

if TYPE_CHECKING:
    from .firestore_registry import FirestoreWorkflowRegistry
    from .firestore_store import FirestoreExecutionStore

__all__ = ["client", "firestore_backends"]


def firestore_backends(settings: Settings) -> tuple[FirestoreExecutionStore, FirestoreWorkflowRegistry]:
    """One shared client; the store owns (and closes) it."""
    from .firestore_registry import FirestoreWorkflowRegistry
    from .firestore_store import FirestoreExecutionStore

    shared = client(settings.gcp_project, settings.firestore_database)
    timeout = settings.firestore_timeout_s or None
    store = FirestoreExecutionStore(shared, retention_s=settings.retention_days * 86400.0, owns_client=True,
                                    rpc_timeout_s=timeout)
    return store, FirestoreWorkflowRegistry(shared, rpc_timeout_s=timeout)
