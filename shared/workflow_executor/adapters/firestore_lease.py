"""What one process knows about a Firestore lease it holds: the next slot to write, and the
execution as its own writes left it (so that the finish needs no read)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..models import Execution, Progress, StepRecord

DEAD = -1


@dataclass
class HeldLease:
    """``execution`` mirrors what a read folds together (codec.decode): each checkpoint bumps the
    version, sets progress, lease expiry and update time, and adds the step record."""

    next_slot: int
    execution: Execution
    update_time: Any  # of the execution document as this process last wrote or read it
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dead(self) -> bool:
        return self.next_slot == DEAD

    def kill(self) -> None:
        """Make every later use fail (the lease was lost, released or finished)."""
        self.next_slot = DEAD

    def checkpointed(self, record: StepRecord, progress: Progress, lease_until_s: float, at_s: float) -> None:
        """Account for slot ``next_slot`` just written."""
        # The JSON round trip makes the cached record equal to what a read decodes.
        stored = StepRecord.model_validate_json(record.model_dump_json())
        ex = self.execution
        steps = dict(ex.steps)
        steps[stored.step_id] = stored
        self.execution = ex.model_copy(update={
            "steps": steps, "version": ex.version + 1, "updated_at_s": at_s,
            "progress": Progress.model_validate_json(progress.model_dump_json()),
            "lease_expires_at_s": lease_until_s})
        self.next_slot += 1

    @property
    def max_slot(self) -> int:
        return self.next_slot - 1
