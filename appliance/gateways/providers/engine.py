"""An HTTP SMS provider's account as a gateway the router drives: the sending that is the
same for every provider (api.py's modules only build requests and read answers).

Everything runs on the event loop: one aiohttp session per gateway (its connection
pool), at most ``concurrency`` requests in flight, each in a task of its own. In the
loop pattern each message is one request; in the batch pattern the messages the router
hands over in one dispatch are grouped (one sender and encoding a request, and one text
where the provider takes one text for many recipients (``batch_same_text``), up to
``batch_size``) and sent when the dispatch is over (``loop.call_soon``) or a group is full.

The provider's answer becomes the router's Outcome (docs/providers.md): a fault of the
provider or the network costs the message no attempt, and a request whose answer never
came is sent again, since a rare duplicate beats a lost message. Three faults in a row
take the gateway out of service for a while, so backups stand in for it; refused
credentials take it out until it is started again.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import aiohttp

from ... import pdu
from ...config.file import ProviderConfig
from ...messages import numbers
from ...messages.types import MESSAGE_TYPES
from ...store.models import OutboundMessage
from ...store.queue import Queue
from ..base import Done, Gateway, Outcome
from ..credit import Credit
from . import api
from .registry import api_for

log = logging.getLogger(__name__)

READY, FAILED, STOPPED, WAITING = "ready", "failed", "stopped", "waiting for its start date"
RESTING = "resting after faults"   # out of service for a while: backups stand in
# the provider's HTTPS certificate is not one the system (or ca_file) vouches for: nothing is
# sent there, and it is no fault that passes, so the gateway waits for an administrator
CERTIFICATE_REFUSED = "the provider's certificate was refused: {}"
FAULTS_IN_A_ROW = 3          # temporary faults that take the gateway out of service for a while
FIRST_REST = 30.0            # seconds out of service after them; doubled each time, up to
LONGEST_REST = 300.0


@dataclass
class _Item:
    """A message on its way: the request's form of it, its parts, and whom to tell."""

    outgoing: api.Outgoing
    parts: int
    done: Done
    told: bool = False      # ``done`` was called

    def tell(self, outcome: Outcome) -> None:
        if not self.told:
            self.told = True
            self.done(outcome)


class ProviderGateway(Gateway):
    def __init__(self, loop: asyncio.AbstractEventLoop, config: ProviderConfig, *,
                 on_state: Callable[[str], None] = lambda state: None,
                 today: Callable[[], datetime.date] = datetime.date.today) -> None:
        """``on_state`` hears of every change of ``in_service`` (the router then kicks);
        ``today`` is the date the start date is compared with."""
        self.loop = loop
        self.config = config
        self.name = config.name
        self.api = api_for(config.type)(config)
        self.on_state = on_state
        self.today = today
        self.state = STOPPED
        self.detail = ""
        self.last_answer = ""
        self.in_flight = 0                               # requests
        self._session: aiohttp.ClientSession | None = None
        self._tls = api.tls_context(config.ca_file)
        # batch: by sender and encoding, and by text where one request carries one text (SMSAPI)
        self._groups: dict[tuple[str, bool, str], list[_Item]] = {}
        self._flush: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters: list[asyncio.Future[None]] = []   # batches waiting for a free request
        self._faults = 0                                 # temporary faults in a row
        self._rest = FIRST_REST
        self._resting_until = 0.0                        # loop time
        self._timer: asyncio.TimerHandle | None = None   # the end of a rest, or the start date
        self.closing: asyncio.Task[None] | None = None   # stop()'s closing of the connections

    # -- what the router asks --------------------------------------------------------------

    @property
    def in_service(self) -> bool:
        return self.state == READY and self.loop.time() >= self._resting_until and not self._before_start()

    @property
    def available(self) -> bool:
        waiting = sum(len(group) for group in self._groups.values())
        requests = self.in_flight + (math.ceil(waiting / self.config.batch_size) if waiting else 0)
        return self.in_service and requests < self.config.concurrency

    def status(self) -> dict:
        state = self.state
        if state == READY and self._before_start():
            state = WAITING
        detail = self.detail
        if state == READY and self.loop.time() < self._resting_until:
            state = RESTING
            detail = f"out of service for {self._resting_until - self.loop.time():.0f} s after faults: {detail}"
        return {"state": state, "detail": detail, "type": self.config.type,
                "host": urlsplit(self.api.base_url).hostname or "", "in_flight": self.in_flight,
                "last_answer": self.last_answer}

    def _before_start(self) -> bool:
        return bool(self.config.start_date) and self.today() < datetime.date.fromisoformat(self.config.start_date)

    # -- starting and stopping -------------------------------------------------------------

    def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self.state, self.detail = READY, ""
        self._faults, self._rest, self._resting_until = 0, FIRST_REST, 0.0
        if self._before_start():
            start = datetime.datetime.combine(datetime.date.fromisoformat(self.config.start_date), datetime.time())
            self._arm(max(0.0, start.timestamp() - time.time()))
        self.on_state(self.state)

    def stop(self) -> None:
        """No more messages; requests in flight are cancelled, and their messages, of
        unknown fate, are tried again (``_send``)."""
        self.state = STOPPED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._send_groups()  # handed over already: they end as the requests do (_ended)
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            session, self._session = self._session, None
            self.closing = self.loop.create_task(self._close(session, list(self._tasks)))
        self.on_state(self.state)

    async def _close(self, session: aiohttp.ClientSession, tasks: list[asyncio.Task[None]]) -> None:
        try:
            await asyncio.gather(*tasks, return_exceptions=True)  # their outcomes first
        finally:  # a loop that is closing cancels this too
            await session.close()

    def reconfigure(self, config: ProviderConfig) -> None:
        """The properties an administrator changed (set-gateway-property), from the next start."""
        self.config = config
        self.api = api_for(config.type)(config)
        self._tls = api.tls_context(config.ca_file)

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay, self._woken)

    def _woken(self) -> None:
        self._timer = None
        self.on_state(self.state)

    # -- sending ---------------------------------------------------------------------------

    def send(self, message: OutboundMessage, queue: Queue, done: Done) -> None:
        try:
            item = self._checked(message, done)
        except ValueError as error:
            done(Outcome(False, error_text=str(error), permanent=True))
            return
        if not self.api.batch or self.config.pattern == "loop":
            self._start_request([item])
            return
        text = item.outgoing.text if self.api.batch_same_text else ""
        group = self._groups.setdefault((item.outgoing.sender, item.outgoing.unicode, text), [])
        group.append(item)
        if len(group) >= self.config.batch_size:
            self._send_groups()
        elif self._flush is None:
            self._flush = self.loop.call_soon(self._send_groups)

    def _checked(self, message: OutboundMessage, done: Done) -> _Item:
        """The message as a request carries it; ValueError for one this gateway cannot send."""
        if len(message.text) > self.config.max_length:
            raise ValueError(f"message is {len(message.text):,} characters; this gateway sends at most "
                             f"{self.config.max_length:,}")
        recipient = numbers.normalize(message.recipient, self.config.country_code)
        if not recipient.startswith("+"):
            raise ValueError(f"{message.recipient!r} is a national number and gateway {self.name!r} has no "
                             "country_code to make it international")
        count = pdu.count(message.text, encoding=MESSAGE_TYPES[message.message_type].encoding)
        outgoing = api.Outgoing(message.id, recipient, message.text, message.sender or self.config.sender,
                                count.encoding == "ucs2", count.parts)
        return _Item(outgoing, count.parts, done)

    def _send_groups(self) -> None:
        """Every group handed over, up to ``batch_size`` a request; the requests beyond
        ``concurrency`` wait for a free one (``_request``)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        groups, self._groups = self._groups, {}
        for group in groups.values():
            for first in range(0, len(group), self.config.batch_size):
                self._start_request(group[first:first + self.config.batch_size])

    def _start_request(self, items: list[_Item]) -> None:
        task = self.loop.create_task(self._send(items))
        self._tasks.add(task)
        task.add_done_callback(lambda ended: self._ended(ended, items))

    def _ended(self, task: asyncio.Task[None], items: list[_Item]) -> None:
        """A task cancelled before it began (stopped in the turn it was made) never ran its
        ``finally``: its messages are told here, of unknown fate like any stopped one."""
        self._tasks.discard(task)
        for item in items:
            item.tell(Outcome(False, error_text=f"{self.name}: stopped during the request "
                              "(the provider may have sent it)", temporary=True))

    async def _send(self, items: list[_Item]) -> None:
        """One request (and, for messages refused with the sender ID, one more with the
        fallback sender), then each message's outcome. Each ``done`` is called once,
        whatever happens (``_ended``: a cancellation by ``stop``, a bug)."""
        outcomes: dict[int, Outcome] = {}
        try:
            while self.in_flight >= self.config.concurrency:  # a batch beyond the limit waits
                await self._slot_freed()
            self.in_flight += 1
            try:
                results = await self._request(items)
                fallback = [i for i, (item, result) in enumerate(zip(items, results, strict=True))
                            if result.kind is api.Kind.REFUSED and self._may_fall_back(item.outgoing)]
                if fallback:
                    again = [replace(items[i], outgoing=replace(items[i].outgoing, sender=self.config.fallback_sender))
                             for i in fallback]
                    for i, result in zip(fallback, await self._request(again), strict=True):
                        results[i] = result
            finally:
                self.in_flight -= 1
                self._freed()
            for i, (item, result) in enumerate(zip(items, results, strict=True)):
                outcomes[i] = self._outcome(item, result)
        except asyncio.CancelledError:
            pass  # stopped: whatever has no outcome yet is of unknown fate below
        except Exception as error:  # a provider module's bug: the message is tried again
            log.exception("%s: sending failed", self.name)
            self.detail = f"internal error: {error}"
        for i, item in enumerate(items):
            if i in outcomes:
                item.tell(outcomes[i])  # the rest: when the task ends (_ended)

    def _may_fall_back(self, outgoing: api.Outgoing) -> bool:
        fallback = self.config.fallback_sender
        return bool(fallback and self.config.sender and outgoing.sender == self.config.sender)

    @property
    def started(self) -> bool:
        """Whether the gateway has its HTTP session: requests can go out."""
        return self._session is not None

    async def ask(self, request: api.Request) -> api.Answer:
        """``request`` to the provider over the gateway's session, with its timeout, proxy
        and certificate checks: the one way a send, a status or a balance request goes out.
        Raises what api.perform raises; RuntimeError when the gateway is stopped."""
        if self._session is None:
            raise RuntimeError("the gateway is stopped")
        return await api.perform(self._session, request, timeout=self.config.timeout, proxy=self.config.proxy,
                                 tls=self._tls)

    async def _request(self, items: list[_Item]) -> list[api.Result]:
        """The provider's result for each message; no answer is a result too."""
        if not self.started:
            raise asyncio.CancelledError  # stopped meanwhile
        outgoing = [item.outgoing for item in items]
        try:
            answer = await self.ask(self.api.send_request(outgoing))
        except aiohttp.ClientConnectorCertificateError as error:  # not the provider, or not as it says: never sent to
            self.last_answer = f"certificate refused: {error.certificate_error}"
            return [api.Result(api.Kind.CREDENTIALS, error_text=CERTIFICATE_REFUSED.format(
                error.certificate_error))] * len(items)
        except aiohttp.ClientConnectorError as error:  # refused, unreachable: nothing went out
            self.last_answer = f"no connection: {error}"
            return [api.Result(api.Kind.TEMPORARY, error_text=f"no connection to the provider: {error}")] * len(items)
        except (TimeoutError, aiohttp.ClientError) as error:  # it went out, and the answer never came
            why = f"no answer within {self.config.timeout:g} s" if isinstance(error, TimeoutError) else \
                f"the connection broke: {error}"
            self.last_answer = why
            return [api.Result(api.Kind.UNKNOWN, error_text=f"{why}; the provider may have sent it")] * len(items)
        self.last_answer = f"HTTP {answer.status}"
        return self.api.send_results(outgoing, answer)

    @property
    def tells_credit(self) -> bool:
        """Whether the provider's API tells the account's balance."""
        return self.api.balance_request() is not None

    async def read_credit(self) -> Credit:
        """The account's balance from the provider's API (gateways/credit.py reads it on
        its schedule); raises with the reason when there is none to read."""
        request = self.api.balance_request()
        if request is None:
            raise RuntimeError("the provider tells no balance")
        try:
            answer = await self.ask(request)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise RuntimeError(f"no answer to the balance request: {error or type(error).__name__}") from None
        balance = self.api.balance(answer)
        if balance is None:
            raise RuntimeError(f"the provider's balance answer could not be read (HTTP {answer.status})")
        return Credit(balance.amount, balance.currency, f"{balance.amount:g} {balance.currency}".strip(), time.time())

    async def _slot_freed(self) -> None:
        waiter = self.loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def _freed(self) -> None:
        """A request ended: the next waiting batch goes, and the router may hand over more."""
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():  # one cancelled by stop() wakes no one
                waiter.set_result(None)
                break
        self.on_state(self.state)

    # -- answers into outcomes -------------------------------------------------------------

    def _outcome(self, item: _Item, result: api.Result) -> Outcome:
        code, text = result.error_code, result.error_text or result.kind.value
        kind = result.kind
        if kind is api.Kind.SENT:
            self._faults, self._rest = 0, FIRST_REST
            return Outcome(True, parts=item.parts, provider_reference=result.provider_id)
        if kind is api.Kind.PERMANENT:
            return Outcome(False, code, text, permanent=True)
        if kind is api.Kind.REFUSED:
            return Outcome(False, code, text, refused=True)
        if kind is api.Kind.CREDENTIALS:
            if self.state == READY:
                self.state = FAILED
                self.detail = text if text.startswith(CERTIFICATE_REFUSED[:20]) else f"credentials refused: {text}"
                log.error("%s: %s; out of service until it is started again", self.name, self.detail)
                self.on_state(self.state)
            return Outcome(False, code, f"{self.name}: {self.detail}", temporary=True)
        # TEMPORARY, or UNKNOWN: sent again; an unknown fate may have cost its parts
        self.detail = text
        self._fault()
        return Outcome(False, code, text, temporary=True, retry_after=result.retry_after,
                       parts=item.parts if kind is api.Kind.UNKNOWN else 0)

    def _fault(self) -> None:
        """One more temporary fault; the third in a row rests the gateway (backups stand in),
        longer each time until one succeeds."""
        self._faults += 1
        if self._faults < FAULTS_IN_A_ROW or self.loop.time() < self._resting_until:
            return
        self._resting_until = self.loop.time() + self._rest
        log.warning("%s: %d faults in a row (%s): out of service for %.0f s", self.name, self._faults,
                    self.detail, self._rest)
        self._arm(self._rest)
        self._rest = min(self._rest * 2, LONGEST_REST)
        self.on_state(self.state)

