"""ToolRecords on Firestore: one document per record in the collection ``tool_records``, its id
made of owner, kind and key, the record as JSON text (replaced whole, never merged)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from .firestore_client import AlreadyExists, PreconditionFailed, doc_id, read, rpc_options, translated

COLLECTION = "tool_records"


class FirestoreToolRecords:
    """ToolRecords in Firestore. ``list`` reads a caller's records of one kind (the tools keep
    them few: WFX_TASKLIST_MAX_TASKS) with two equality filters, which need no composite index."""

    def __init__(self, client: Any, *, owns_client: bool = False, rpc_timeout_s: float | None = None) -> None:
        self._client = client
        self._rpc = rpc_options(rpc_timeout_s)
        self._owns = owns_client
        self._col = client.collection(COLLECTION)

    def _ref(self, owner: str, kind: str, key: str) -> Any:
        return self._col.document(f"{doc_id(owner)}|{doc_id(kind)}|{doc_id(key)}")

    def insert(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> bool:
        fields = {"owner": owner, "kind": kind, "key": key, "record": json.dumps(dict(record)),
                  "created_ns": time.time_ns()}
        try:
            with translated():
                self._ref(owner, kind, key).create(fields, **self._rpc)
        except AlreadyExists:
            return False
        return True

    def put(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> None:
        from google.api_core.exceptions import NotFound as Missing

        ref, text = self._ref(owner, kind, key), json.dumps(dict(record))
        for _ in range(3):  # update keeps created_ns (the list order); a new record is created
            try:
                with translated():
                    ref.update({"record": text}, **self._rpc)
                return
            except Missing:
                if self.insert(owner, kind, key, record):
                    return
        raise AssertionError("unreachable: a record was created and deleted three times meanwhile")

    def get(self, owner: str, kind: str, key: str) -> dict[str, Any] | None:
        with translated():
            snap = read(self._ref(owner, kind, key), self._rpc)
        if not snap.exists:
            return None
        found: dict[str, Any] = json.loads(snap.get("record"))
        return found

    def delete(self, owner: str, kind: str, key: str) -> bool:
        from google.api_core.exceptions import NotFound as Missing

        ref = self._ref(owner, kind, key)
        try:
            with translated():  # a precondition: the delete says whether there was one
                ref.delete(option=self._client.write_option(exists=True), **self._rpc)
        except (Missing, PreconditionFailed):
            return False
        return True

    def list(self, owner: str, kind: str, limit: int = 1000) -> list[dict[str, Any]]:
        from google.cloud.firestore import FieldFilter

        query = self._col.where(filter=FieldFilter("owner", "==", owner)).where(filter=FieldFilter("kind", "==", kind))
        with translated():
            snaps = list(query.stream(**self._rpc))
        snaps.sort(key=lambda s: (s.get("created_ns"), s.id))
        return [json.loads(s.get("record")) for s in snaps[:limit]]

    def close(self) -> None:
        if self._owns:
            self._client.close()
