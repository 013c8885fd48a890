"""Views the events function keeps in Firestore: ``execution_views/{id}``, the last lifecycle
event seen per execution. Idempotent under redelivery and reordering: a view only moves forward."""

from __future__ import annotations

from typing import Any

from .firestore_client import AlreadyExists, PreconditionFailed, doc_id, read, rpc_options, translated
from .firestore_codec import expire_at

TERMINAL = ("completed", "failed", "timeout", "cancelled")
MAX_ATTEMPTS = 10


class FirestoreViews:
    """Views on the store's Firestore client (the store owns the client)."""

    def __init__(self, client: Any, *, retention_s: float, collection: str = "execution_views",
                 rpc_timeout_s: float | None = None) -> None:
        self._client = client
        self._rpc = rpc_options(rpc_timeout_s)
        self._col = client.collection(collection)
        self._retention_s = retention_s

    def apply(self, view: dict[str, Any]) -> bool:
        """Store ``view`` (``execution_id``, ``status``, ``published_at_s``, ...) unless the stored
        one is final or newer. True when written."""
        ref = self._col.document(doc_id(view["execution_id"]))
        fields = {**view, "expire_at": expire_at(view["published_at_s"] + self._retention_s)}
        try:  # the common case: the first event of this execution that reaches us
            with translated():
                ref.create(fields, **self._rpc)
            return True
        except AlreadyExists:
            pass
        for _ in range(MAX_ATTEMPTS):
            with translated():
                snap = read(ref, self._rpc)
            try:
                with translated():
                    if not snap.exists:
                        ref.create(fields, **self._rpc)
                        return True
                    old = snap.to_dict()
                    if old.get("status") in TERMINAL or old.get("published_at_s", 0) > view["published_at_s"]:
                        return False
                    ref.update(fields, option=self._client.write_option(last_update_time=snap.update_time),
                               **self._rpc)
                    return True
            except (AlreadyExists, PreconditionFailed):
                continue
        return False

    def get(self, execution_id: str) -> dict[str, Any] | None:
        with translated():
            snap = read(self._col.document(doc_id(execution_id)), self._rpc)
        return snap.to_dict() if snap.exists else None
