"""Timer schedules: NCRONTAB with seconds first, five-field cron, TimeSpans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hpcburst.devhost.ncrontab import parse_schedule
from hpcburst.errors import ConfigError

T0 = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)  # a Monday


def test_six_fields_start_with_seconds():
    schedule = parse_schedule("*/15 * * * * *")
    assert schedule.next_after(T0) == T0 + timedelta(seconds=15)
    assert parse_schedule("30 0 12 * * Mon-Fri").next_after(T0) == datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)


def test_five_fields_and_timespans():
    assert parse_schedule("*/5 * * * *").next_after(T0) == T0 + timedelta(minutes=5)
    assert parse_schedule("00:00:10").next_after(T0) == T0 + timedelta(seconds=10)
    assert parse_schedule("1.00:00:00").typical_interval(T0) == timedelta(days=1)


@pytest.mark.parametrize("bad", ["* * *", "61 * * * * *", "00:00:00"])
def test_bad_schedules_name_the_function(bad):
    with pytest.raises(ConfigError, match="'cleanup'"):
        parse_schedule(bad, "cleanup")
