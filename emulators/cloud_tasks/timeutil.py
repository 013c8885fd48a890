"""Conversions between epoch seconds (the emulator's clock) and protobuf Timestamp/Duration."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(seconds: float) -> Timestamp:
    # The API truncates times to microseconds; doing the same keeps round trips exact.
    stamp = Timestamp()
    stamp.FromMicroseconds(int(seconds * 1_000_000))
    return stamp


def from_timestamp(stamp: Timestamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def to_duration(seconds: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration


def from_duration(duration: Duration) -> float:
    return duration.seconds + duration.nanos / 1e9
