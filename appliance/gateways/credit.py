"""What is left on each gateway's account: a prepaid SIM's credit asked by USSD, a
provider account's balance asked from its API. Read on a schedule and on demand, kept in
memory for the status (request-server-status, /api/v1, the dashboard, /metrics), and
told once when it falls below the gateway's threshold: an event in the log and a notice
to the webhooks.

A reading that fails (the modem not ready, the network not answering) is kept as its
error beside the last good amount, and tried again sooner than the schedule (after
``RETRY`` seconds), so a modem still registering at start has its credit minutes later,
not hours.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

log = logging.getLogger(__name__)

RETRY = 300.0            # seconds before a failed reading is tried again
FIRST = 30.0             # seconds after start for the first reading: a modem registers first

# an amount: digits with a decimal point or comma (a prepaid balance has no thousands)
_AMOUNT = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d{1,3})?)(?![\d])")
# a currency next to it: a code (EUR, GBP, PLN, zł) or a sign
_CURRENCY = re.compile(r"\b([A-Z]{3})\b|([€£$¥₹]|zł|Kč|kr|Ft|lei)")


@dataclass(frozen=True)
class Credit:
    """The last reading of a gateway's credit."""

    amount: float | None = None    # None until a reading held an amount
    currency: str = ""
    text: str = ""                 # the answer as given (a USSD reply), for a person to read
    at: float | None = None        # when ``amount`` was read
    error: str = ""                # why the latest reading failed ("" when it did not)


def parse_ussd(text: str) -> tuple[float | None, str]:
    """The amount and currency in an operator's USSD answer ("Balance 12.34 GBP",
    "Ihr Guthaben beträgt 5,20 EUR", "Saldo: 14,50 zł"): the first number that stands
    next to a currency, else the first number; (None, "") when it holds none."""
    numbers = list(_AMOUNT.finditer(text))
    if not numbers:
        return None, ""
    currencies = list(_CURRENCY.finditer(text))
    best, currency = numbers[0], ""
    for number in numbers:
        near = [c for c in currencies if (c.end() <= number.start() and number.start() - c.end() <= 2)
                or (c.start() >= number.end() and c.start() - number.end() <= 2)]
        if near:
            best, currency = number, near[0].group(1) or near[0].group(2)
            break
    return float(best.group(1).replace(",", ".")), currency


Reader = Callable[[], Awaitable[Credit]]
LowNotice = Callable[[str, Credit, float], None]   # gateway, the reading, the threshold


@dataclass
class _Watched:
    read: Reader
    interval: float
    low: float | None
    credit: Credit
    timer: asyncio.TimerHandle | None = None
    running: asyncio.Task[Credit] | None = None


class CreditWatch:
    """Reads each watched gateway's credit every ``interval`` seconds, on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, on_low: LowNotice = lambda name, credit, low: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.loop = loop
        self.on_low = on_low
        self.clock = clock
        self._watched: dict[str, _Watched] = {}

    def watch(self, gateway: str, read: Reader, *, interval: float, low: float | None = None) -> None:
        """Read ``gateway``'s credit with ``read`` from now on; ``low``: the threshold."""
        self._watched[gateway] = _Watched(read, interval, low, Credit())

    def start(self) -> None:
        for name in self._watched:
            self._schedule(name, FIRST)

    def stop(self) -> None:
        for watched in self._watched.values():
            if watched.timer is not None:
                watched.timer.cancel()
            if watched.running is not None:
                watched.running.cancel()

    def credit(self, gateway: str) -> Credit | None:
        """The last reading; None for a gateway whose credit is not watched. Any thread."""
        watched = self._watched.get(gateway)
        return None if watched is None else watched.credit

    def refresh(self, gateway: str) -> asyncio.Task[Credit]:
        """Read now (an administrator asked); the task's result is the new reading.
        KeyError for a gateway whose credit is not watched."""
        watched = self._watched[gateway]
        if watched.running is None:
            if watched.timer is not None:
                watched.timer.cancel()
            watched.running = self.loop.create_task(self._read(gateway, watched))
        return watched.running

    async def settled(self, gateway: str) -> Credit | None:
        """The reading once the one under way (if any) has ended."""
        watched = self._watched.get(gateway)
        if watched is not None and watched.running is not None:
            await asyncio.wait([watched.running])
        return self.credit(gateway)

    def _schedule(self, gateway: str, delay: float) -> None:
        watched = self._watched[gateway]
        watched.timer = self.loop.call_later(delay, self.refresh, gateway)

    async def _read(self, gateway: str, watched: _Watched) -> Credit:
        try:
            reading = await watched.read()
        except Exception as error:  # a modem or a provider that cannot answer now
            reading = replace(watched.credit, error=str(error) or type(error).__name__)
            log.warning("%s: credit not read: %s", gateway, reading.error)
        finally:
            watched.running = None
        before, watched.credit = watched.credit, reading
        self._schedule(gateway, RETRY if reading.error else watched.interval)
        if watched.low is not None and reading.amount is not None and reading.amount < watched.low and (
                before.amount is None or before.amount >= watched.low):
            self.on_low(gateway, reading, watched.low)
        return reading


def ussd_reader(ask: Callable[[str], Awaitable[str]], code: str, clock: Callable[[], float] = time.time) -> Reader:
    """A prepaid SIM's credit: the USSD ``code`` (``*100#``) asked through ``ask`` (the
    modem driver's ``ussd``), its answer read by :func:`parse_ussd`."""
    async def read() -> Credit:
        text = await ask(code)
        amount, currency = parse_ussd(text)
        if amount is None:
            raise ValueError(f"no amount in the answer to {code}: {text!r}")
        return Credit(amount, currency, text, clock())
    return read
