"""Per-gateway send limits: parts per day and per month (kept in the store, so a restart
does not reset them) and a rate per minute (kept in memory: a minute is soon over).

A SIM contract that allows 500 SMS a month, or an operator that blocks a SIM sending
faster than 10 a minute, is respected; when a limit is reached the gateway simply takes
no more work until the period turns or an administrator resets it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..store.durability import Durability, bookkeeping
from ..store.models import GatewayCounter


@dataclass(frozen=True)
class Limits:
    per_day: int | None = None
    per_month: int | None = None
    per_minute: int | None = None


def _periods(now: float) -> tuple[str, str, float, float]:
    """Local day and month keys, and when each ends (limits follow the appliance's clock)."""
    local = datetime.fromtimestamp(now).astimezone()
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    next_day = day_start + timedelta(days=1)
    month_start = day_start.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return (f"day:{local:%Y-%m-%d}", f"month:{local:%Y-%m}", next_day.timestamp(), next_month.timestamp())


class LimitTracker:
    def __init__(self, limits: dict[str, Limits], clock: Callable[[], float] = time.time,
                 durability: Durability | None = None) -> None:
        """With ``durability``, the counts are the sender's bookkeeping: a power cut may
        forget the last moment's parts (store.durability)."""
        self.limits = limits
        self.clock = clock
        self.durability = durability
        self._recent: dict[str, deque[float]] = {}

    def _count(self, gateway: str, period: str) -> int:
        row = GatewayCounter.get_or_none((GatewayCounter.gateway == gateway) & (GatewayCounter.period == period))
        return row.count if row else 0

    def next_allowed(self, gateway: str, now: float | None = None) -> float | None:
        """None if ``gateway`` may send now, else the moment it may again."""
        limits = self.limits.get(gateway)
        if limits is None:
            return None
        now = self.clock() if now is None else now
        day, month, day_ends, month_ends = _periods(now)
        waits = []
        if limits.per_month is not None and self._count(gateway, month) >= limits.per_month:
            waits.append(month_ends)
        if limits.per_day is not None and self._count(gateway, day) >= limits.per_day:
            waits.append(day_ends)
        if limits.per_minute is not None:
            recent = self._recent.setdefault(gateway, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= limits.per_minute:
                waits.append(recent[0] + 60)
        return max(waits) if waits else None

    def record(self, gateway: str, parts: int, now: float | None = None) -> None:
        if gateway not in self.limits or parts <= 0:
            return
        now = self.clock() if now is None else now
        day, month, _, _ = _periods(now)
        with bookkeeping(self.durability), GatewayCounter._meta.database.atomic():
            for period in (day, month):
                (GatewayCounter.insert(gateway=gateway, period=period, count=parts)
                 .on_conflict(conflict_target=[GatewayCounter.gateway, GatewayCounter.period],
                              update={GatewayCounter.count: GatewayCounter.count + parts})
                 .execute())
        self._recent.setdefault(gateway, deque()).extend([now] * parts)

    def reset(self, gateway: str) -> None:
        """reset-send-limit: the gateway's day and month start counting again from zero."""
        GatewayCounter.delete().where(GatewayCounter.gateway == gateway).execute()
        self._recent.pop(gateway, None)
