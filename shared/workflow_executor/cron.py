"""Cron expressions of workflow ``schedules``: unix-cron's five fields (minute hour day month
weekday, as Cloud Scheduler reads them) or six with a leading seconds field (local schedules
only). Each field: ``*``, ``N``, ``A-B``, ``*/S``, ``A-B/S`` and lists of those. When both day
and weekday are restricted, either matching is enough (as in cron)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# (low, high) of second, minute, hour, day of month, month, day of week (0 or 7 = Sunday)
_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("second", "minute", "hour", "day of month", "month", "day of week")
MAX_SEARCH = timedelta(days=366 * 5)


class CronError(ValueError):
    """The expression or time zone cannot be read; the message says which part and why."""


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if spec == "*":
                start, end = low, high
            elif "-" in spec:
                a, b = spec.split("-", 1)
                start, end = int(a), int(b)
            else:
                start = end = int(spec)
                if step_text:
                    end = high
        except ValueError:
            raise CronError(f"'{part}' in the {_NAMES[index]} field is not a number, range or step") from None
        if step < 1 or not low <= start <= end <= high:
            raise CronError(f"'{part}' is outside the {_NAMES[index]} range {low}-{high}")
        values.update(range(start, end + 1, step))
    if index == 5 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    zone: ZoneInfo

    @classmethod
    def parse(cls, expr: str, time_zone: str = "UTC") -> Cron:
        """Errors: CronError naming the field."""
        fields = expr.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise CronError(f"'{expr}' has {len(fields)} fields; cron needs 5 (minute hour day month weekday)")
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CronError(f"time zone '{time_zone}' is unknown (use an IANA name such as Europe/Stockholm)") from None
        s, mi, h, d, mo, w = (_field(f, i) for i, f in enumerate(fields))
        return cls(s, mi, h, d, mo, w, any_day=fields[3] == "*", any_weekday=fields[5] == "*", zone=zone)

    def _day_ok(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def min_gap_s(self, start_s: float, firings: int = 400) -> float:
        """The shortest time between two of the next ``firings`` firings after ``start_s``
        (how often a schedule can fire; 5-field expressions never under 60 s)."""
        prev = self.next_after(start_s)
        gap = float("inf")
        for _ in range(firings):
            nxt = self.next_after(prev)
            gap = min(gap, nxt - prev)
            prev = nxt
        return gap

    def next_after(self, epoch_s: float) -> float:
        """The first firing strictly after ``epoch_s``, as epoch seconds."""
        t = datetime.fromtimestamp(int(epoch_s) + 1, self.zone)
        end = t + MAX_SEARCH
        while t < end:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_ok(t):
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t = t + timedelta(seconds=1)
            else:
                return t.timestamp()
        raise CronError("the expression never fires")
