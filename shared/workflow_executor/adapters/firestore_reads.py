"""The read side of the Firestore ExecutionStore: get, list, count, with the step slots folded in
(see firestore_codec); the store class adds the writes."""

from __future__ import annotations

import builtins
import json
from typing import Any

from ..models import Execution, Page
from ..ports import ExecutionQuery
from .common import decode_cursor, encode_cursor
from .firestore_client import doc_id, read, translated
from .firestore_codec import Loaded, decode, read_slot
from .search import check_query, id_head, matches, words

MAX_SCAN = 2000  # documents a search reads for one page at most
SCAN_BATCH = 200


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
            snap = read(self._ref(execution_id), self._rpc)
        return decode(snap.to_dict(), [], with_steps=False) if snap.exists else None

    def list(self, query: ExecutionQuery) -> Page:
        """Newest first (created_at_s, then id, descending); items carry no step records.
        Served by the composite indexes (field, created_at_s desc) in infra/firestore.tf; an id
        prefix or error text by (principal?, id_head | error_words, created_at_s desc), the
        rest of such a search checked here over at most MAX_SCAN documents a page (a page that
        ran out of them is short, and its cursor goes on from the last document read)."""
        from google.cloud.firestore import Query

        check_query(query)
        searching = query.id_prefix is not None or query.error_text is not None
        q = (self._searched(query) if searching else self._filtered(query))
        for op, bound in ((">=", query.created_from_s), ("<=", query.created_to_s)):
            if bound is not None:
                q = q.where(filter=_field_filter("created_at_s", op, bound))
        q = q.order_by("created_at_s", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
        after = decode_cursor(query.cursor) if query.cursor else None
        if not searching:
            docs = self._after(q, after, query.limit + 1)
            items = [self._list_item(d) for d in docs[: query.limit]]
            more = len(docs) > query.limit
            return Page(items=items, next_cursor=encode_cursor(items[-1].created_at_s, items[-1].id) if more else None)
        found: list[Any] = []
        scanned = 0
        while len(found) <= query.limit and scanned < MAX_SCAN:
            docs = self._after(q, after, SCAN_BATCH)
            for d in docs:
                scanned += 1
                ex = decode(d.to_dict(), [], with_steps=False)
                after = (ex.created_at_s, ex.id)
                if _kept(ex, query):
                    found.append(d)
                    if len(found) > query.limit:
                        break
            if len(docs) < SCAN_BATCH:
                after = None if len(found) <= query.limit else after
                break
        items = [self._list_item(d) for d in found[: query.limit]]
        if len(found) > query.limit:
            after = (items[-1].created_at_s, items[-1].id)
        return Page(items=items, next_cursor=encode_cursor(*after) if after is not None and (
            len(found) > query.limit or scanned >= MAX_SCAN) else None)

    def _after(self, q: Any, after: tuple[float, str] | None, limit: int) -> builtins.list[Any]:
        if after is not None:
            q = q.start_after({"created_at_s": after[0], "__name__": self._ref(after[1])})
        with translated():
            return list(q.limit(limit).stream(**self._rpc))

    def _searched(self, query: ExecutionQuery) -> Any:
        """The query of a search: the principal, and the id's head or the error's rarest-looking
        (longest) word; status, workflow and the rest are checked on the documents read."""
        q = self._col
        if query.principal is not None:
            q = q.where(filter=_field_filter("principal", "==", query.principal))
        if query.id_prefix is not None:
            return q.where(filter=_field_filter("id_head", "==", id_head(query.id_prefix)))
        assert query.error_text is not None
        word = max(words(query.error_text), key=len)
        return q.where(filter=_field_filter("error_words", "array_contains", word))

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
            snap = read(ref, self._rpc)
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
            snap = read(ref, self._rpc)
            slots = sum(1 for _ in ref.collection("steps").select([]).stream(**self._rpc))
        if not snap.exists:
            return 0
        keyed = json.loads(snap.get("data")).get("idempotency_key") is not None
        return int(snap.get("doc_writes")) + slots + (1 if keyed else 0)

    def _filtered(self, query: ExecutionQuery) -> Any:
        q = self._col
        for name, value in (("status", query.status), ("workflow_name", query.workflow_name),
                            ("principal", query.principal)):
            if value is not None:
                q = q.where(filter=_field_filter(name, "==", str(value)))
        return q


def _field_filter(name: str, op: str, value: Any) -> Any:
    from google.cloud.firestore import FieldFilter

    return FieldFilter(name, op, value)


def _kept(ex: Execution, query: ExecutionQuery) -> bool:
    """What a search checks on a document read: the filters its Firestore query left out."""
    return ((query.status is None or ex.status == query.status)
            and (query.workflow_name is None or ex.workflow_name == query.workflow_name)
            and matches(ex, query, whole_words=True))
