"""How an Execution is laid out in Firestore (``executions/{id}`` and its checkpoint slots
``executions/{id}/steps/{n}``), and how the slots fold back into the record on read."""

# The execution document keeps the fields queries and transitions use at the top level and the
# rest as one JSON text (Firestore cannot hold arrays of arrays; user data can). Every top-level
# field costs index writes. A slot holds a step record plus the progress and lease renewal of
# that checkpoint; the document's ``slots`` says how many slots are already folded into it. A
# finish may carry the run's last step record in the document itself (``tail``, JSON text): the
# last checkpoint and the finish are then one document write.

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..models import Execution, Progress, StepRecord
from .search import error_words, id_head

HOT = ("status", "version", "lease_owner", "lease_expires_at_s", "updated_at_s", "progress")
STEP, FENCE = "step", "fence"
SLOT_DIGITS = 8


def slot_id(slot: int) -> str:
    return f"{slot:0{SLOT_DIGITS}d}"


def expire_at(at_s: float) -> datetime:
    """The TTL policy field (a timestamp)."""
    return datetime.fromtimestamp(at_s, tz=UTC)


def execution_fields(ex: Execution) -> dict[str, Any]:
    """Every stored field of ``ex`` except its step records (those live in slots)."""
    return {
        "status": ex.status.value,
        "workflow_name": ex.workflow_name,
        "principal": ex.principal,
        "created_at_s": ex.created_at_s,
        "updated_at_s": ex.updated_at_s,
        "version": ex.version,
        "lease_owner": ex.lease_owner,
        "lease_expires_at_s": ex.lease_expires_at_s,
        "progress": ex.progress.model_dump_json(),
        "data": ex.model_dump_json(exclude={"steps", *HOT}),
        # what the executions list searches by (adapters/search.py): id prefix and error words
        "id_head": id_head(ex.id),
        "error_words": error_words(ex),
    }


TAIL = "tail"


def slot_fields(kind: str, slot: int, owner: str, now_s: float, *, token: str, record: StepRecord | None = None,
                progress: Progress | None = None, lease_until_s: float | None = None) -> dict[str, Any]:
    """A slot document: its number (queried) and the rest as one JSON text."""
    body = {
        "kind": kind,
        "owner": owner,
        "token": token,
        "step_id": record.step_id if record else None,
        "record": record.model_dump(mode="json") if record else None,
        "progress": progress.model_dump(mode="json") if progress else None,
        "lease_until_s": lease_until_s,
        "written_at_s": now_s,
    }
    return {"slot": slot, "data": json.dumps(body)}


def read_slot(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored slot document."""
    return {**json.loads(doc["data"]), "slot": doc["slot"]}


@dataclass(frozen=True)
class Loaded:
    """An execution as read: the folded record, the update time to write against, and the
    highest slot number seen (fences included)."""

    execution: Execution
    update_time: Any
    max_slot: int


def decode(doc: dict[str, Any], slots: list[dict[str, Any]], *, with_steps: bool) -> Execution:
    """The Execution of an execution document and its slot documents (ascending).

    Slots newer than the document's ``slots`` renew progress, lease and version; a finished
    execution ignores them (a finished execution never changes, even on read)."""
    data = json.loads(doc["data"])
    data.update({k: doc[k] for k in HOT[:5]})
    data["progress"] = json.loads(doc["progress"])
    folded = int(doc.get("slots", 0))
    live = data["status"] not in ("completed", "failed", "timeout", "cancelled")
    steps: dict[str, Any] = {}
    if with_steps:
        for s in slots:
            if s["kind"] == STEP and (live or s["slot"] <= folded):
                steps[s["step_id"]] = s["record"]
        if TAIL in doc:  # the last step, written with the finish: after every slot
            tail = json.loads(doc[TAIL])
            steps.pop(tail["step_id"], None)
            steps[tail["step_id"]] = tail
    data["steps"] = steps
    last = slots[-1] if slots else None
    if live and last is not None and last["slot"] > folded and last["kind"] == STEP:
        data["version"] = int(doc["version"]) + last["slot"] - folded
        data["progress"] = last["progress"]
        data["updated_at_s"] = last["written_at_s"]
        if last["owner"] == doc["lease_owner"]:
            data["lease_expires_at_s"] = last["lease_until_s"]
    return Execution.model_validate(data)
