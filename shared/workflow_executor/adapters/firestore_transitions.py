"""The Firestore store's transitions of a waiting or cancelled run (request_cancel, park, wake):
each one compare-and-set write of the execution document through the store's ``_mutate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models import Execution, ExecutionStatus, Progress, StepRecord, WaitState
from . import waits
from .common import cancelled_error

# A transition: the new state and whether to fence the next slot, or None for "nothing to do".
Change = Callable[[Execution], tuple[Execution, bool] | None]


class FirestoreTransitions:
    """Mixed into FirestoreExecutionStore, which provides ``_mutate`` and ``_forget``."""

    def _mutate(self, execution_id: str, change: Change, *, tail: StepRecord | None = None
                ) -> tuple[Execution, int, Any]:
        raise NotImplementedError

    def _forget(self, execution_id: str, owner: str | None) -> None:
        raise NotImplementedError

    def request_cancel(self, execution_id: str, now_s: float) -> Execution:
        """Flag for cancellation; a queued run is cancelled at once; a finished run is returned as is."""

        def change(ex: Execution) -> tuple[Execution, bool] | None:
            if ex.finished:
                return None
            update: dict[str, Any] = {"cancel_requested": True, "updated_at_s": now_s, "version": ex.version + 1}
            if waits.cancels_at_once(ex):
                update.update(status=ExecutionStatus.CANCELLED, error=cancelled_error(), ended_at_s=now_s,
                              lease_owner=None, lease_expires_at_s=None)
            return ex.model_copy(update=update), False

        return self._mutate(execution_id, change)[0]

    def park(self, execution_id: str, owner: str, wait: WaitState, progress: Progress, now_s: float) -> Execution:
        """running -> waiting (adapters.waits.parked): one conditional write of the document, with
        a fence (a checkpoint of this lease racing the park meets it)."""
        self._forget(execution_id, owner)

        def change(ex: Execution) -> tuple[Execution, bool]:
            update = waits.parked(ex, owner, wait, progress, now_s)
            return ex.model_copy(update={**update, "version": ex.version + 1}), True

        return self._mutate(execution_id, change)[0]

    def wake(self, execution_id: str, *, event: str | None = None, number: int | None = None,
             payload: Any = None, by: str | None = None, now_s: float) -> Execution:
        """waiting -> queued (adapters.waits.woken): one conditional write of the document."""

        def change(ex: Execution) -> tuple[Execution, bool]:
            update = waits.woken(ex, event=event, number=number, payload=payload, by=by, now_s=now_s)
            return ex.model_copy(update={**update, "version": ex.version + 1}), False

        return self._mutate(execution_id, change)[0]
