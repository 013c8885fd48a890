"""Queue configuration rules: service defaults, validation, UpdateQueue field masks and list filters."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from . import pb
from .errors import invalid_argument
from .timeutil import from_duration, to_duration

# Values the real service picks when a field is left unset at creation (documented defaults).
DEFAULT_MAX_DISPATCHES_PER_SECOND = 500.0
DEFAULT_MAX_CONCURRENT_DISPATCHES = 1000
DEFAULT_MAX_ATTEMPTS = 100
DEFAULT_MIN_BACKOFF_S = 0.1
DEFAULT_MAX_BACKOFF_S = 3600.0
DEFAULT_MAX_DOUBLINGS = 16

MAX_DISPATCHES_PER_SECOND = 500.0
MAX_CONCURRENT_DISPATCHES = 5000
# The service derives max_burst_size itself (100 for the default 500/s); we use ceil(rate) capped at that.
MAX_BURST_SIZE = 100

# Fields UpdateQueue may touch; `name`, `state` and `purge_time` are not updatable.
UPDATABLE_FIELDS = (
    "app_engine_routing_override",
    "http_target",
    "rate_limits",
    "retry_config",
    "stackdriver_logging_config",
)

_STATE_FILTER = re.compile(r"\s*state\s*[:=]\s*(?P<state>[A-Z_]+)\s*")


def burst_size(max_dispatches_per_second: float) -> int:
    return max(1, min(MAX_BURST_SIZE, math.ceil(max_dispatches_per_second)))


def validate_retry_config(config: Any) -> None:
    """Reject values the real service rejects; shared by queue- and task-level RetryConfig."""
    if config.max_attempts < -1:
        raise invalid_argument("retry_config.max_attempts must be >= -1")
    if config.max_doublings < 0:
        raise invalid_argument("retry_config.max_doublings must be >= 0")
    for field in ("min_backoff", "max_backoff", "max_retry_duration"):
        if config.HasField(field) and from_duration(getattr(config, field)) < 0:
            raise invalid_argument(f"retry_config.{field} must not be negative")
    if (
        config.HasField("min_backoff")
        and config.HasField("max_backoff")
        and from_duration(config.min_backoff) > from_duration(config.max_backoff)
    ):
        raise invalid_argument("retry_config.min_backoff must not exceed max_backoff")


def normalize_queue(queue: Any) -> None:
    """Validate a raw Queue in place and fill in the defaults the service would choose.

    proto3 cannot tell an unset scalar from 0, so (like the service) 0 means "use the default" for
    max_dispatches_per_second, max_concurrent_dispatches, max_attempts and max_doublings.
    Durations are messages, so an explicit `0s` min_backoff is honoured.
    """
    limits = queue.rate_limits
    if not 0 <= limits.max_dispatches_per_second <= MAX_DISPATCHES_PER_SECOND:
        raise invalid_argument(f"rate_limits.max_dispatches_per_second must be in [0, {MAX_DISPATCHES_PER_SECOND}]")
    if not 0 <= limits.max_concurrent_dispatches <= MAX_CONCURRENT_DISPATCHES:
        raise invalid_argument(f"rate_limits.max_concurrent_dispatches must be in [0, {MAX_CONCURRENT_DISPATCHES}]")
    if limits.max_dispatches_per_second == 0:
        limits.max_dispatches_per_second = DEFAULT_MAX_DISPATCHES_PER_SECOND
    if limits.max_concurrent_dispatches == 0:
        limits.max_concurrent_dispatches = DEFAULT_MAX_CONCURRENT_DISPATCHES
    # Output only: whatever the caller sent is replaced.
    limits.max_burst_size = burst_size(limits.max_dispatches_per_second)

    retry = queue.retry_config
    validate_retry_config(retry)
    if retry.max_attempts == 0:
        retry.max_attempts = DEFAULT_MAX_ATTEMPTS
    if retry.max_doublings == 0:
        retry.max_doublings = DEFAULT_MAX_DOUBLINGS
    if not retry.HasField("min_backoff"):
        retry.min_backoff.CopyFrom(to_duration(DEFAULT_MIN_BACKOFF_S))
    if not retry.HasField("max_backoff"):
        retry.max_backoff.CopyFrom(to_duration(max(DEFAULT_MAX_BACKOFF_S, from_duration(retry.min_backoff))))
    if from_duration(retry.min_backoff) > from_duration(retry.max_backoff):
        raise invalid_argument("retry_config.min_backoff must not exceed max_backoff")


def apply_update(existing: Any, update: Any, paths: Sequence[str]) -> Any:
    """Return a normalized copy of `existing` with the masked fields of `update` applied.

    An empty mask means "all updatable fields", so fields missing from `update` go back to defaults.
    """
    for path in paths:
        if path.split(".", 1)[0] not in UPDATABLE_FIELDS:
            raise invalid_argument(f"update_mask path {path!r} cannot be updated")
    mask = FieldMask(paths=list(paths) or list(UPDATABLE_FIELDS))
    if not mask.IsValidForDescriptor(pb.Queue.DESCRIPTOR):
        raise invalid_argument(f"invalid update_mask {list(paths)!r}")
    result = pb.Queue()
    result.CopyFrom(existing)
    mask.MergeMessage(update, result, replace_message_field=True, replace_repeated_field=True)
    normalize_queue(result)
    return result


def parse_state_filter(text: str) -> int | None:
    """ListQueues filter: only the documented `state: PAUSED` form (or `state=...`) is supported."""
    if not text.strip():
        return None
    match = _STATE_FILTER.fullmatch(text)
    if match is None or match["state"] not in pb.Queue.State.DESCRIPTOR.values_by_name:
        raise invalid_argument(f"unsupported filter {text!r}; the emulator only understands 'state: <STATE>'")
    return int(pb.Queue.State.Value(match["state"]))
