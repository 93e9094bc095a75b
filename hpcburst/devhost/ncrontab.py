"""Timer schedules as the Functions host reads them: NCRONTAB (six fields, seconds first, or five) or a TimeSpan.

Pure code. ``Schedule.next_after(t)`` is the first occurrence strictly after ``t`` (aware datetimes).
NCRONTAB is evaluated by croniter, which takes the seconds field last, so the fields are rotated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from hpcburst.errors import ConfigError

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?$")


@dataclass(frozen=True)
class Schedule:
    expression: str
    croniter_expression: str | None  # None for a TimeSpan schedule
    interval: timedelta | None  # the TimeSpan, or None for NCRONTAB

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        assert self.croniter_expression is not None
        nxt: datetime = croniter(self.croniter_expression, moment).get_next(datetime)
        return nxt

    def typical_interval(self, moment: datetime) -> timedelta:
        """Gap between two consecutive occurrences after ``moment`` (decides the schedule monitor default)."""
        first = self.next_after(moment)
        return self.next_after(first) - first


def parse_schedule(expression: str, function: str = "") -> Schedule:
    """Parse a timer schedule; a ConfigError names the function and shows an example."""
    text = expression.strip()
    span = _TIMESPAN.match(text)
    if span:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ConfigError(f"timer {function!r}: schedule {expression!r} is a zero interval")
        return Schedule(text, None, interval)
    fields = text.split()
    if len(fields) == 6:
        rotated = " ".join(fields[1:] + fields[:1])
    elif len(fields) == 5:
        rotated = " ".join(fields)
    else:
        raise ConfigError(
            f"timer {function!r}: schedule {expression!r} must be NCRONTAB "
            "'{second} {minute} {hour} {day} {month} {day-of-week}' (e.g. '0 */5 * * * *') or a TimeSpan 'hh:mm:ss'"
        )
    if not croniter.is_valid(rotated):
        raise ConfigError(f"timer {function!r}: schedule {expression!r} is not a valid NCRONTAB expression")
    return Schedule(text, rotated, None)
