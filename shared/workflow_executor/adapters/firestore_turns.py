"""Firestore journal of agent turns: ``executions/{id}/agent_turns/{key}/turns/{index}``, one
create per turn (the first writer wins), read back in document-id order (no index needed)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import NotFound
from .firestore_client import AlreadyExists, doc_id, read, translated
from .firestore_codec import expire_at

TURN_DIGITS = 6
TURN_GRACE_S = 7 * 86400.0  # like step slots: outlive the execution's retention


class FirestoreTurns:
    """Mixed into FirestoreExecutionStore (which provides ``_col`` and ``_retention_s``)."""

    _col: Any
    _retention_s: float
    _rpc: dict[str, Any]

    def _turns(self, execution_id: str, key: str) -> Any:
        return self._col.document(doc_id(execution_id)).collection("agent_turns").document(
            doc_id(key)).collection("turns")

    def record_turn(self, execution_id: str, key: str, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        """One create; on a conflict the stored turn is read and returned. The execution's
        existence is checked on a key's first turn only (later turns cost one write)."""
        if index == 0:
            with translated():
                if not self._col.document(doc_id(execution_id)).get(field_paths=["status"], **self._rpc).exists:
                    raise NotFound(f"no execution {execution_id}", fix="check the id")
        ref = self._turns(execution_id, key).document(f"{index:0{TURN_DIGITS}d}")
        now = time.time()
        try:
            with translated():
                ref.create({"idx": index, "turn": json.dumps(turn), "created_at_s": now,
                            "expire_at": expire_at(now + self._retention_s + TURN_GRACE_S)}, **self._rpc)
        except AlreadyExists:
            with translated():
                snap = read(ref, self._rpc)
            stored: dict[str, Any] = json.loads(snap.get("turn"))
            return stored
        return turn

    def load_turns(self, execution_id: str, key: str) -> list[dict[str, Any]]:
        with translated():
            snaps = list(self._turns(execution_id, key).stream(**self._rpc))
        out: list[dict[str, Any]] = []
        for snap in snaps:  # document ids are zero-padded: id order is index order
            if int(snap.get("idx")) != len(out):
                break
            out.append(json.loads(snap.get("turn")))
        return out
