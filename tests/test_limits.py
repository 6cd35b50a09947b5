"""Send-limit counters: kept per local day and month in the store, the periods worked out
again when the day turns."""

from datetime import datetime

from appliance.gateways.limits import Limits, LimitTracker, periods_at
from appliance.store.models import GatewayCounter


def at(text: str) -> float:
    return datetime.fromisoformat(text).astimezone().timestamp()  # local time, as the counters


def counts():
    return {(row.gateway, row.period): row.count for row in GatewayCounter.select()}


def test_parts_are_counted_in_the_day_and_the_month_and_the_day_turns_at_local_midnight(database):
    now = [at("2026-11-30T23:59:00")]
    tracker = LimitTracker({"GSM": Limits()}, clock=lambda: now[0])
    tracker.record("GSM", 2)
    tracker.record("GSM", 1)
    now[0] = at("2026-12-01T00:00:30")
    tracker.record("GSM", 4)
    assert counts() == {("GSM", "day:2026-11-30"): 3, ("GSM", "month:2026-11"): 3,
                        ("GSM", "day:2026-12-01"): 4, ("GSM", "month:2026-12"): 4}


def test_a_clock_set_back_counts_in_the_earlier_day_again(database):
    now = [at("2026-12-02T08:00:00")]
    tracker = LimitTracker({"GSM": Limits()}, clock=lambda: now[0])
    tracker.record("GSM", 1)
    now[0] = at("2026-12-01T23:00:00")
    tracker.record("GSM", 1)
    assert counts()[("GSM", "day:2026-12-01")] == 1 and counts()[("GSM", "month:2026-12")] == 2


def test_a_daily_limit_holds_the_gateway_until_local_midnight(database):
    now = [at("2026-12-01T22:00:00")]
    tracker = LimitTracker({"GSM": Limits(per_day=2)}, clock=lambda: now[0])
    assert tracker.next_allowed("GSM") is None
    tracker.record("GSM", 2)
    assert tracker.next_allowed("GSM") == at("2026-12-02T00:00:00")


def test_a_gateway_without_limits_is_never_held_and_its_parts_are_still_counted(database):
    tracker = LimitTracker({"GSM": Limits()})
    tracker.record("GSM", 5)
    assert tracker.next_allowed("GSM") is None
    assert sum(counts().values()) == 10  # day and month: a limit set later starts from them


def test_a_day_with_a_daylight_saving_change_ends_at_local_midnight(monkeypatch):
    import time as time_module

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time_module.tzset()
    try:
        spring = periods_at(at("2026-03-29T12:00:00"))  # 23 hours long
        assert spring.day == "day:2026-03-29"
        assert spring.day_ends - spring.day_starts == 23 * 3600
        assert spring.day_ends == at("2026-03-30T00:00:00")
    finally:
        monkeypatch.undo()
        time_module.tzset()
