"""Firestore WorkflowRegistry: ``workflows/{name}`` holds the version the name means (and the
version counter) and ``workflows/{name}/versions/{hash}`` every version."""

# A new version is one batch: create the version document (fails if that content is stored
# already) and move the name's head conditionally on its update time, so concurrent puts never
# hand out one version number twice. A version stored with latest=False only bumps the counter;
# a head that never had a latest version says listed=False.

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import Transient
from ..models import StoredWorkflow
from .common import workflow_hash
from .firestore_client import AlreadyExists, PreconditionFailed, doc_id, read, rpc_options, translated

MAX_ATTEMPTS = 25


def _fields(w: StoredWorkflow) -> dict[str, Any]:
    # The document is JSON text: Firestore cannot store arrays of arrays.
    return {"name": w.name, "version": w.version, "hash": w.hash, "document": json.dumps(w.document),
            "source": w.source, "source_text": w.source_text, "description": w.description,
            "created_at_s": w.created_at_s}


def _stored(d: dict[str, Any]) -> StoredWorkflow:
    return StoredWorkflow(name=d["name"], version=d["version"], hash=d["hash"], document=json.loads(d["document"]),
                          source=d["source"], source_text=d.get("source_text"), description=d["description"],
                          created_at_s=d["created_at_s"])


class FirestoreWorkflowRegistry:
    """WorkflowRegistry on Firestore (see ``ports.WorkflowRegistry``)."""

    def __init__(self, client: Any, *, owns_client: bool = False, collection: str = "workflows",
                 rpc_timeout_s: float | None = None) -> None:
        self._client = client
        self._rpc = rpc_options(rpc_timeout_s)
        self._col = client.collection(collection)
        self._owns_client = owns_client

    def close(self) -> None:
        if self._owns_client:
            self._owns_client = False
            self._client.close()

    def put(self, name: str, document: dict[str, Any], *, source: str | None = None,
            description: str | None = None, latest: bool = True,
            source_text: str | None = None) -> StoredWorkflow:
        """Store a new version, or return the existing one with the same content hash; with
        ``latest`` it becomes the version ``name`` means."""
        digest = workflow_hash(document)
        head = self._col.document(doc_id(name))
        version_ref = head.collection("versions").document(digest)
        for _ in range(MAX_ATTEMPTS):
            with translated():
                found = read(version_ref, self._rpc)
                current = read(head, self._rpc)
            cur = current.to_dict() if current.exists else {}
            batch = self._client.batch()
            if found.exists:
                stored = _stored(found.to_dict())
                if not latest or (_listed(cur) and cur.get("hash") == digest):
                    return stored
                head_fields = {**_fields(stored), "counter": _counter(cur), "listed": True}
            else:
                number = _counter(cur) + 1
                stored = StoredWorkflow(name=name, version=number, hash=digest, source=source, source_text=source_text,
                                        document=json.loads(json.dumps(document)), description=description,
                                        created_at_s=time.time())
                batch.create(version_ref, _fields(stored))
                head_fields = ({**_fields(stored), "counter": number, "listed": True} if latest
                               else {"counter": number} if current.exists
                               else {"name": name, "counter": number, "listed": False})
            if current.exists:
                batch.update(head, head_fields, option=self._client.write_option(
                    last_update_time=current.update_time))
            else:
                batch.create(head, head_fields)
            try:
                with translated():
                    batch.commit(**self._rpc)
                return stored
            except (AlreadyExists, PreconditionFailed):
                continue  # another put won: re-read
        raise Transient(f"workflow '{name}' is changing too often to store", fix="retry")

    def get(self, name: str, workflow_hash: str | None = None) -> StoredWorkflow | None:
        """The latest version of ``name``, or the one with ``workflow_hash``; None if absent."""
        head = self._col.document(doc_id(name))
        ref = head if workflow_hash is None else head.collection("versions").document(doc_id(workflow_hash))
        with translated():
            snap = read(ref, self._rpc)
        if not snap.exists:
            return None
        d = snap.to_dict()
        return _stored(d) if workflow_hash is not None or _listed(d) else None

    def list(self) -> list[StoredWorkflow]:
        """The latest version of each name, sorted by name."""
        with translated():
            heads = [s.to_dict() for s in self._col.order_by("name").stream(**self._rpc)]
        return [_stored(d) for d in heads if _listed(d)]


def _listed(head: dict[str, Any]) -> bool:
    return bool(head) and head.get("listed", True) and "hash" in head


def _counter(head: dict[str, Any]) -> int:
    # heads written before the counter existed carry only their version
    return int(head.get("counter", head.get("version", 0)))
