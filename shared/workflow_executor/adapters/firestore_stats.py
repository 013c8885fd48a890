"""Firestore side of the per-workflow hourly aggregates (``ports.StatsStore``):
``workflow_stats/{workflow}:{hour}`` with a map of counters added to by server-side increments
(no read, no transaction: concurrent finishes never contend); TTL removes a row after 40 days."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..ports import WorkflowHour
from .firestore_client import doc_id, translated
from .firestore_codec import expire_at

KEEP_S = 40 * 86400.0


class FirestoreStats:
    """Mixed into FirestoreExecutionStore (which provides ``_client``); also the paused schedules
    and triggers (``ports.PauseStore``): a document per paused key in ``paused``."""

    _client: Any

    def paused(self) -> set[str]:
        with translated():
            return {str(s.get("key")) for s in self._client.collection("paused").stream()}

    def set_paused(self, key: str, paused: bool) -> None:
        ref = self._client.collection("paused").document(doc_id(key))
        with translated():
            if paused:
                ref.set({"key": key})
            else:
                ref.delete()

    def add_stats(self, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
        from google.cloud.firestore import Increment

        ref = self._client.collection("workflow_stats").document(f"{doc_id(workflow)}:{hour}")
        fields = {"workflow": workflow, "hour": hour, "expire_at": expire_at(time.time() + KEEP_S),
                  "c": {name: Increment(v) for name, v in counts.items()}}
        with translated():
            ref.set(fields, merge=True)

    def stats(self, since_hour: int) -> list[WorkflowHour]:
        from google.cloud.firestore import FieldFilter

        query = self._client.collection("workflow_stats").where(filter=FieldFilter("hour", ">=", since_hour))
        with translated():
            snaps = list(query.stream())
        return [WorkflowHour(str(s.get("workflow")), int(s.get("hour")),
                             {k: float(v) for k, v in (s.to_dict().get("c") or {}).items()}) for s in snaps]

