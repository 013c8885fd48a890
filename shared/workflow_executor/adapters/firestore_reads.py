"""The read side of the Firestore ExecutionStore: get, list, count, with the step slots folded in
(see firestore_codec); the store class adds the writes."""

from __future__ import annotations

import json
from typing import Any

from ..models import Execution, Page
from ..ports import ExecutionQuery
from .common import check_limit, decode_cursor, encode_cursor
from .firestore_client import doc_id, translated
from .firestore_codec import Loaded, decode, read_slot


class FirestoreReads:
    """Reads of ``executions`` (``_col``, a CollectionReference, is set by the subclass)."""

    _col: Any
    _rpc: dict[str, Any]  # retry and timeout of every call (firestore.rpc_options)

    def get(self, execution_id: str) -> Execution | None:
        """The execution with all its step records, or None."""
        loaded = self._load(execution_id)
        return None if loaded is None else loaded.execution

    def get_head(self, execution_id: str) -> Execution | None:
        """The execution without its step records, in one read. Exact for a finished execution;
        a live one may lack the progress and lease of its latest checkpoints."""
        with translated():
            snap = self._ref(execution_id).get(**self._rpc)
        return decode(snap.to_dict(), [], with_steps=False) if snap.exists else None

    def list(self, query: ExecutionQuery) -> Page:
        """Newest first (created_at_s, then id, descending); items carry no step records.
        Served by the composite indexes (field, created_at_s desc) in infra/firestore.tf."""
        from google.cloud.firestore import Query

        check_limit(query.limit)
        q = self._filtered(query).order_by("created_at_s", direction=Query.DESCENDING).order_by(
            "__name__", direction=Query.DESCENDING)
        if query.cursor:
            created, last_id = decode_cursor(query.cursor)
            q = q.start_after({"created_at_s": created, "__name__": self._ref(last_id)})
        with translated():
            docs = list(q.limit(query.limit + 1).stream(**self._rpc))
        items = [self._list_item(d) for d in docs[: query.limit]]
        more = len(docs) > query.limit
        return Page(items=items, next_cursor=encode_cursor(items[-1].created_at_s, items[-1].id) if more else None)

    def count(self, query: ExecutionQuery) -> int:
        """How many executions match the filters of ``query`` (an aggregation: no documents read)."""
        with translated():
            return int(self._filtered(query).count().get(**self._rpc)[0][0].value)

    def _list_item(self, snap: Any) -> Execution:
        from google.cloud.firestore import Query

        doc = snap.to_dict()
        last: list[dict[str, Any]] = []
        if doc["status"] in ("queued", "running"):  # a live run may have newer slots to fold in
            q = snap.reference.collection("steps").order_by("slot", direction=Query.DESCENDING).limit(1)
            with translated():
                last = [read_slot(s.to_dict()) for s in q.stream(**self._rpc)]
        return decode(doc, last, with_steps=False)

    def _load(self, execution_id: str) -> Loaded | None:
        ref = self._ref(execution_id)
        with translated():
            snap = ref.get(**self._rpc)
            if not snap.exists:
                return None
            doc = snap.to_dict()
            # Slots are written under a lease: a queued execution never had one, so it has none.
            fresh = doc["status"] == "queued" and not doc.get("slots")
            slots = [] if fresh else [read_slot(s.to_dict()) for s in ref.collection("steps").stream(**self._rpc)]
        ex = decode(doc, slots, with_steps=True)
        return Loaded(ex, snap.update_time, max((s["slot"] for s in slots), default=0))

    def _ref(self, execution_id: str) -> Any:
        return self._col.document(doc_id(execution_id))

    def write_count(self, execution_id: str) -> int:
        """Document writes this store made for one execution (execution document, slots,
        idempotency key): what the bench reports."""
        ref = self._ref(execution_id)
        with translated():
            snap = ref.get(**self._rpc)
            slots = sum(1 for _ in ref.collection("steps").select([]).stream(**self._rpc))
        if not snap.exists:
            return 0
        keyed = json.loads(snap.get("data")).get("idempotency_key") is not None
        return int(snap.get("doc_writes")) + slots + (1 if keyed else 0)

    def _filtered(self, query: ExecutionQuery) -> Any:
        from google.cloud.firestore import FieldFilter

        q = self._col
        for name, value in (("status", query.status), ("workflow_name", query.workflow_name),
                            ("principal", query.principal)):
            if value is not None:
                q = q.where(filter=FieldFilter(name, "==", str(value)))
        return q
