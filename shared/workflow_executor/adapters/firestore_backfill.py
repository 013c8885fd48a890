"""The search fields (``id_head``, ``error_words``: adapters/search.py) of executions stored before
they existed, filled in a bounded page at a time from the oldest run on, resumed from a cursor kept
in ``wfx_meta/search_backfill.<collection>``; the sweeper calls it until it says it is done."""

from __future__ import annotations

from typing import Any

from .firestore_client import read, translated
from .firestore_codec import decode
from .search import error_words, id_head

META_COLLECTION = "wfx_meta"


def backfill(client: Any, col: Any, page: int, rpc: dict[str, Any]) -> int | None:
    """Fill the search fields of up to ``page`` executions past the stored cursor that lack them.
    Returns how many were filled, or None once every stored run has been looked at (the cursor
    says so, and later calls read one document). A run written meanwhile has the fields already
    (firestore_codec.execution_fields), and each update holds only if the document is unchanged
    since it was read (a page that meets a newer write fails whole and is done again on the next
    call). Errors: the client's (the caller logs them)."""
    meta = client.collection(META_COLLECTION).document(f"search_backfill.{col.id}")
    with translated():
        state = read(meta, rpc)
        got = state.to_dict() if state.exists else {}
        if got.get("done"):
            return None
        q = col.order_by("created_at_s").order_by("__name__")
        if got.get("after_id"):
            q = q.start_after({"created_at_s": got["after_s"], "__name__": col.document(got["after_id"])})
        docs = list(q.limit(page).stream(**rpc))
        filled = 0
        batch = client.batch()
        for snap in docs:
            doc = snap.to_dict() or {}
            if "id_head" in doc and "error_words" in doc:
                continue
            ex = decode(doc, [], with_steps=False)
            batch.update(snap.reference, {"id_head": id_head(ex.id), "error_words": error_words(ex)},
                         option=client.write_option(last_update_time=snap.update_time))  # not over a newer write
            filled += 1
        if docs:
            last = docs[-1]
            batch.set(meta, {"after_s": (last.to_dict() or {}).get("created_at_s", 0.0), "after_id": last.id,
                             "done": len(docs) < page})
        else:
            batch.set(meta, {"done": True}, merge=True)
        batch.commit(**rpc)
    return filled
