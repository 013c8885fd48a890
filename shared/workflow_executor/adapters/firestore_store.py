"""Firestore ExecutionStore (writes): conditional writes, no transactions, one document write
per step; an async execution costs steps + 2 writes (create, lease, a slot per step but the
last, the finish with the last step), a sync one steps + 1 (created running: no lease write)."""

# Why one write per step is safe. A checkpoint creates slot n (create fails if it exists) and
# touches nothing else; its owner numbers slots 1, 2, ... one commit at a time. Every change of
# ownership that could leave a live writer behind (a takeover of an expired lease, a finish by
# someone else) commits, with its conditional write of the execution document, a *fence* at the
# next free slot. The old owner's next create meets the fence and fails: LeaseLost, nothing
# written. A checkpoint racing the takeover either lands first (then the fence create fails and
# the taker re-reads and sees the renewed lease) or meets the fence. A runner's own release or
# finish happens in its own process: its slot counter is dropped, and a later save re-reads and
# fails there. Execution-document writes are compare-and-set on the document's update time
# (DESIGN §7: contended transactions stall for seconds on one document); the owner's finish
# writes against the update time of its own lease write, so it needs no read unless someone else
# wrote in between (a cancel flag, a takeover).

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from ..errors import InvalidArgument, LeaseHeld, LeaseLost, NotFound, Transient
from ..models import ErrorInfo, Execution, ExecutionStatus, Progress, StepRecord, Usage
from . import waits
from .common import frozen_error
from .firestore_client import AlreadyExists, PreconditionFailed, doc_id, read, rpc_options, translated
from .firestore_codec import (
    FENCE,
    STEP,
    TAIL,
    Loaded,
    execution_fields,
    expire_at,
    read_slot,
    slot_fields,
    slot_id,
)
from .firestore_key_usage import FirestoreKeyUsage
from .firestore_lease import HeldLease
from .firestore_reads import FirestoreReads
from .firestore_stats import FirestoreStats
from .firestore_transitions import Change, FirestoreTransitions
from .firestore_turns import FirestoreTurns

MAX_ATTEMPTS = 25  # compare-and-set rounds before giving up with Transient
STEP_GRACE_S = 7 * 86400.0  # slots outlive the retention by this much (TTL is per document)
MAX_LEASES = 10_000
# A last step record rides in the execution document while both stay under this (1 MiB a document)
TAIL_MAX_CHARS = 700_000



class FirestoreExecutionStore(FirestoreTransitions, FirestoreKeyUsage, FirestoreStats, FirestoreTurns, FirestoreReads):
    """ExecutionStore on Firestore (see ``ports.ExecutionStore``); ``list`` items carry no steps.

    ``client`` is a ``google.cloud.firestore.Client``; ``retention_s`` sets ``expire_at`` (the
    TTL policy field) on finished executions, their slots and idempotency keys."""

    def __init__(self, client: Any, *, retention_s: float = 30 * 86400.0, owns_client: bool = False,
                 collection: str = "executions", rpc_timeout_s: float | None = None) -> None:
        self._client = client
        self._rpc_timeout_s = rpc_timeout_s
        self._rpc = rpc_options(rpc_timeout_s)
        self._col = client.collection(collection)
        self._keys = client.collection("idempotency")
        self._retention_s = retention_s
        self._owns_client = owns_client
        self._leases: dict[tuple[str, str], HeldLease] = {}
        self._leases_lock = threading.Lock()

    def views(self) -> Any:
        """The derived views the events function keeps (on this store's client)."""
        from .firestore_views import FirestoreViews

        return FirestoreViews(self._client, retention_s=self._retention_s, rpc_timeout_s=self._rpc_timeout_s)

    def backfill_search(self, page: int = 200) -> int | None:
        """The search fields of up to ``page`` runs stored before they existed (firestore_backfill)."""
        from .firestore_backfill import backfill

        return backfill(self._client, self._col, page, self._rpc)

    def close(self) -> None:
        if self._owns_client:
            self._owns_client = False
            self._client.close()

    # -- create ----------------------------------------------------------------------------

    def create(self, execution: Execution) -> tuple[Execution, bool]:
        """Store it; (existing, False) when the id or (principal, idempotency_key) is taken."""
        ex, created, _ = self._create(execution)
        return ex, created

    def create_running(self, execution: Execution, owner: str, ttl_s: float, now_s: float) -> tuple[Execution, bool]:
        """``create`` of the execution already running under ``owner``'s lease (one document
        write in place of create + acquire_lease); (existing, False), untouched, as ``create``."""
        running = execution.model_copy(update={
            "status": ExecutionStatus.RUNNING, "lease_owner": owner, "lease_expires_at_s": now_s + ttl_s,
            "started_at_s": execution.started_at_s or now_s, "updated_at_s": now_s})
        ex, created, update_time = self._create(running)
        if created:
            self._hold(ex.id, owner, HeldLease(len(running.steps) + 1, running, update_time))
        return ex, created

    def _create(self, execution: Execution) -> tuple[Execution, bool, Any]:
        ref = self._ref(execution.id)
        now = time.time()
        fields = execution_fields(execution)
        fields.update(slots=len(execution.steps), doc_writes=1)
        batch = self._client.batch()
        batch.create(ref, fields)
        for n, rec in enumerate(execution.steps.values(), start=1):
            batch.create(ref.collection("steps").document(slot_id(n)), self._slot(
                STEP, n, execution.lease_owner or "", now, record=rec, progress=execution.progress,
                lease_until_s=execution.lease_expires_at_s))
        key_ref = self._key_ref(execution) if execution.idempotency_key else None
        if key_ref is not None:
            batch.create(key_ref, {"execution_id": execution.id, "created_at_s": now,
                                   "expire_at": expire_at(now + self._retention_s)})
        for _ in range(MAX_ATTEMPTS):
            try:
                with translated():
                    results = batch.commit(**self._rpc)
                return execution.model_copy(deep=True), True, results[0].update_time
            except AlreadyExists:
                existing = self._existing(execution, key_ref)
                if existing is not None:
                    return existing, False, None
        raise Transient(f"execution {execution.id} could not be created", fix="retry")

    def _existing(self, execution: Execution, key_ref: Any) -> Execution | None:
        if key_ref is not None:
            with translated():
                snap = read(key_ref, self._rpc)
            if snap.exists:
                found = self.get(snap.get("execution_id"))
                if found is not None:
                    return found
        return self.get(execution.id)

    # -- leases and checkpoints ------------------------------------------------------------

    def acquire_lease(self, execution_id: str, owner: str, ttl_s: float, now_s: float) -> Execution:
        """Take a free, expired or own lease; queued -> running. LeaseHeld, Conflict, NotFound."""

        def change(ex: Execution) -> tuple[Execution, bool]:
            if ex.finished:
                raise frozen_error(execution_id, ex.status)
            waits.refuse_lease(ex)
            if ex.lease_owner not in (None, owner) and (ex.lease_expires_at_s or 0) > now_s:
                raise LeaseHeld(f"execution {execution_id} is leased by another runner",
                                fix="retry after the lease expires", lease_expires_at_s=ex.lease_expires_at_s)
            new = ex.model_copy(update={
                "lease_owner": owner, "lease_expires_at_s": now_s + ttl_s, "status": ExecutionStatus.RUNNING,
                "started_at_s": ex.started_at_s or now_s, "updated_at_s": now_s, "version": ex.version + 1})
            return new, ex.lease_owner is not None and ex.lease_owner != owner

        new, slots, update_time = self._mutate(execution_id, change)
        self._hold(execution_id, owner, HeldLease(slots + 1, new, update_time))
        return new

    def _hold(self, execution_id: str, owner: str, lease: HeldLease) -> HeldLease:
        with self._leases_lock:
            if len(self._leases) >= MAX_LEASES:
                self._leases.pop(next(iter(self._leases))).kill()
            old = self._leases.get((execution_id, owner))
            if old is not None and old is not lease:
                old.kill()
            self._leases[(execution_id, owner)] = lease
        return lease

    def save_step(
        self, execution_id: str, owner: str, record: StepRecord, progress: Progress, lease_until_s: float
    ) -> None:
        """Checkpoint one step and renew the lease: one create of the next slot.

        LeaseLost if the lease is not ours (nothing is written), Conflict if finished, NotFound."""
        lease = self._leases.get((execution_id, owner)) or self._recover(execution_id, owner)
        with lease.lock:  # one commit at a time per lease: slot n+1 only after slot n
            if lease.dead:
                raise self._why_not(execution_id, owner)
            ref = self._ref(execution_id).collection("steps").document(slot_id(lease.next_slot))
            # The same for a retry of this checkpoint (an earlier attempt that timed out may have
            # landed after all: then the slot is ours), different for any other checkpoint.
            token, now = f"{record.step_id}#{record.seq}", time.time()
            fields = self._slot(STEP, lease.next_slot, owner, now, record=record, progress=progress,
                                lease_until_s=lease_until_s, token=token)
            try:
                with translated():
                    ref.create(fields, **self._rpc)
            except AlreadyExists:
                if not self._is_ours(ref, token, owner):  # not a retry of our own create: fenced off
                    self._forget(execution_id, owner)
                    raise self._why_not(execution_id, owner) from None
            lease.checkpointed(record, progress, lease_until_s, now)

    def _is_ours(self, ref: Any, token: str, owner: str) -> bool:
        with translated():
            snap = read(ref, self._rpc)
        if not snap.exists:
            return False
        slot = read_slot(snap.to_dict())
        return bool(slot["kind"] == STEP and slot["owner"] == owner and slot["token"] == token)

    def _recover(self, execution_id: str, owner: str) -> HeldLease:
        """The state of a lease this process did not take (or forgot): re-read."""
        loaded = self._load(execution_id)
        if loaded is None or loaded.execution.finished or loaded.execution.lease_owner != owner or \
                loaded.execution.status != ExecutionStatus.RUNNING:
            raise self._why_not(execution_id, owner, loaded)
        return self._hold(execution_id, owner, HeldLease(loaded.max_slot + 1, loaded.execution,
                                                         loaded.update_time))

    def _why_not(self, execution_id: str, owner: str, loaded: Loaded | None = None) -> Exception:
        loaded = loaded or self._load(execution_id)
        if loaded is None:
            return NotFound(f"no execution {execution_id}", fix="check the id")
        if loaded.execution.finished:
            return frozen_error(execution_id, loaded.execution.status)
        return LeaseLost(f"execution {execution_id} is no longer leased by {owner}", fix="stop this run")

    def _forget(self, execution_id: str, owner: str | None) -> None:
        if owner is not None:
            with self._leases_lock:
                lease = self._leases.pop((execution_id, owner), None)
            if lease is not None:
                lease.kill()  # a save still holding this object fails too

    # -- transitions -----------------------------------------------------------------------

    def finish(
        self,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        """Move to a terminal status and clear the lease; returns the final execution.

        InvalidArgument for a non-terminal ``status``; Conflict if finished; LeaseLost if ``owner``
        is given and the lease is not ours."""
        return self._end(execution_id, owner, status, result, error, usage, now_s, None)

    def finish_with_step(
        self,
        execution_id: str,
        owner: str,
        status: ExecutionStatus,
        record: StepRecord,
        progress: Progress,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        """``save_step`` + ``finish`` in one conditional write: the record rides in the execution
        document (codec.TAIL), so the run's last step costs no slot of its own. Errors as
        ``finish``; nothing is written when one is raised."""
        return self._end(execution_id, owner, status, result, error, usage, now_s, (record, progress))

    def _end(self, execution_id: str, owner: str | None, status: ExecutionStatus, result: Any,
             error: ErrorInfo | None, usage: Usage | None, now_s: float,
             tail: tuple[StepRecord, Progress] | None) -> Execution:
        if not status.terminal:
            raise InvalidArgument(f"{status} is not a terminal status", fix="finish with a terminal status")

        def change(ex: Execution) -> tuple[Execution, bool]:
            if ex.finished:
                raise frozen_error(execution_id, ex.status)
            if owner is not None and ex.lease_owner != owner:
                raise LeaseLost(f"execution {execution_id} is no longer leased by {owner}", fix="stop this run")
            update: dict[str, Any] = {
                "status": status, "result": copy.deepcopy(result), "error": error,
                "usage": usage if usage is not None else ex.usage, "ended_at_s": now_s, "updated_at_s": now_s,
                "lease_owner": None, "lease_expires_at_s": None, "version": ex.version + 1}
            if tail is not None:
                update.update(steps={**ex.steps, tail[0].step_id: tail[0]}, progress=tail[1])
            return ex.model_copy(update=update), ex.lease_owner is not None and ex.lease_owner != owner

        lease = self._leases.get((execution_id, owner)) if owner is not None else None
        known = None
        if lease is not None:
            with lease.lock:  # after the last checkpoint of this lease
                if not lease.dead:
                    known = (lease.execution, lease.update_time, lease.max_slot)
        self._forget(execution_id, owner)
        last = tail[0] if tail is not None else None
        if known is not None:
            # What this process last wrote is current unless someone else wrote since (the
            # precondition tells): then read and retry like any transition.
            new, _ = change(known[0])
            try:
                self._write(execution_id, known[1], new, known[2], fence=False, tail=last)
                return new
            except (PreconditionFailed, AlreadyExists):
                pass
        return self._mutate(execution_id, change, tail=last)[0]

    def release_lease(self, execution_id: str, owner: str) -> None:
        """Clear the lease if ``owner`` holds it; otherwise (or if unknown) do nothing."""
        self._forget(execution_id, owner)

        def change(ex: Execution) -> tuple[Execution, bool] | None:
            if ex.finished or ex.lease_owner != owner:
                return None
            return ex.model_copy(update={"lease_owner": None, "lease_expires_at_s": None,
                                         "version": ex.version + 1}), False

        try:
            self._mutate(execution_id, change)
        except NotFound:
            return

    # -- helpers ---------------------------------------------------------------------------

    def _mutate(self, execution_id: str, change: Change, *, tail: StepRecord | None = None
                ) -> tuple[Execution, int, Any]:
        """Read, apply ``change``, write back conditionally on the update time; repeat when someone
        wrote in between. Returns the new execution, the highest slot it accounts for, and the
        document's new update time (the read one when ``change`` returned None: no write)."""
        for _ in range(MAX_ATTEMPTS):
            loaded = self._load(execution_id)
            if loaded is None:
                raise NotFound(f"no execution {execution_id}", fix="check the id")
            outcome = change(loaded.execution)
            if outcome is None:
                return loaded.execution, loaded.max_slot, loaded.update_time
            new, fence = outcome
            slots = loaded.max_slot + (1 if fence else 0)
            try:
                update_time = self._write(execution_id, loaded.update_time, new, slots, fence, tail=tail)
            except (PreconditionFailed, AlreadyExists):
                continue
            return new, slots, update_time
        raise Transient(f"execution {execution_id} is changing too often to update", fix="retry")

    def _write(self, execution_id: str, update_time: Any, new: Execution, slots: int, fence: bool,
               tail: StepRecord | None = None) -> Any:
        """The conditional write of the execution document (and the fence slot, or a last step
        record too large to ride in the document); returns the document's new update time."""
        from google.cloud import firestore

        ref = self._ref(execution_id)
        fields = execution_fields(new)
        fat = None
        if tail is not None:
            text = tail.model_dump_json()
            if len(text) + len(fields["data"]) <= TAIL_MAX_CHARS:
                fields[TAIL] = text
            else:  # the document stays well under Firestore's 1 MiB: the record gets its own slot
                fat, slots = tail, slots + 1
        fields.update(slots=slots, doc_writes=firestore.Increment(1))
        if new.finished:
            fields["expire_at"] = expire_at((new.ended_at_s or time.time()) + self._retention_s)
        batch = self._client.batch()
        batch.update(ref, fields, option=self._client.write_option(last_update_time=update_time))
        if fence or fat is not None:
            batch.create(ref.collection("steps").document(slot_id(slots)), self._slot(
                FENCE if fat is None else STEP, slots, new.lease_owner or "", time.time(), record=fat,
                progress=new.progress if fat is not None else None))
        with translated():
            results = batch.commit(**self._rpc)
        return results[0].update_time

    def _slot(self, kind: str, slot: int, owner: str, now_s: float, *, token: str = "",
              record: StepRecord | None = None, progress: Progress | None = None,
              lease_until_s: float | None = None) -> dict[str, Any]:
        fields = slot_fields(kind, slot, owner, now_s, token=token, record=record, progress=progress,
                             lease_until_s=lease_until_s)
        fields["expire_at"] = expire_at(now_s + self._retention_s + STEP_GRACE_S)
        return fields

    def _key_ref(self, ex: Execution) -> Any:
        return self._keys.document(doc_id(ex.principal or "") + ":" + doc_id(ex.idempotency_key or ""))
