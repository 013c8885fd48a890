"""Firestore side of the daily key ledger: ``key_usage/{principal}:{day}``, one document per
principal and UTC day, written compare-and-set (a create, or an update conditional on the update
time of a read that found the expected version); Firestore's TTL removes it a week later."""

from __future__ import annotations

import time
from typing import Any

from ..models import KeyUsage
from .firestore_client import AlreadyExists, PreconditionFailed, doc_id, translated
from .firestore_codec import expire_at

KEEP_S = 8 * 86400.0


class FirestoreKeyUsage:
    """Mixed into FirestoreExecutionStore (which provides ``_client``)."""

    _client: Any

    def _usage_ref(self, principal: str, day: str) -> Any:
        return self._client.collection("key_usage").document(doc_id(principal) + ":" + day)

    def key_usage(self, principal: str, day: str) -> KeyUsage | None:
        with translated():
            snap = self._usage_ref(principal, day).get()
        if not snap.exists:
            return None
        return KeyUsage.model_validate_json(snap.get("doc")).model_copy(update={"version": int(snap.get("version"))})

    def put_key_usage(self, usage: KeyUsage, expected_version: int) -> bool:
        """Compare-and-set on the version (see ``ports.ExecutionStore.put_key_usage``)."""
        ref = self._usage_ref(usage.principal, usage.day)
        version = expected_version + 1
        fields = {"doc": usage.model_copy(update={"version": version}).model_dump_json(), "version": version,
                  "principal": usage.principal, "day": usage.day, "expire_at": expire_at(time.time() + KEEP_S)}
        try:
            with translated():
                if expected_version == 0:
                    ref.create(fields)
                    return True
                snap = ref.get(field_paths=["version"])
                if not snap.exists or int(snap.get("version")) != expected_version:
                    return False
                ref.update(fields, option=self._client.write_option(last_update_time=snap.update_time))
        except (AlreadyExists, PreconditionFailed):
            return False
        return True
