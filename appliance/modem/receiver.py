"""Getting SMS and delivery reports out of a modem: indications, reads, sweeps, deletes.

The rule that keeps messages safe: a slot is deleted only after its content was handed
to ``on_sms`` / ``on_report`` and they returned — which means it is committed. If the
process dies in between, the next sweep reads the slot again and the store ignores the
duplicate.

Each read and each sweep is a task of its own, started by what the modem said (an
indication, the RI line, the driver's timer); the channel puts their commands in order.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from . import replies
from .at import Response
from .procedures import Procedures

log = logging.getLogger(__name__)

# the driver's command: queues ``text`` on the channel now, answered by the awaitable
Command = Callable[..., "asyncio.Future[Response]"]

_INDICATION = re.compile(r'^\+C(?:MTI|DSI):\s*"?([A-Z_]*)"?\s*,\s*(-?\d+)', re.IGNORECASE)
_LENGTH = re.compile(r"(\d+)\s*$")
SWEEP_TIMEOUT = 30.0  # AT+CMGL lists a whole storage: a full one takes a while


def has_smsc(pdu_hex: str, tpdu_length: int | None) -> bool:
    """+CDS and +CMT give the TPDU length; a PDU longer than that carries an SMSC part."""
    return tpdu_length is None or len(pdu_hex) // 2 != tpdu_length


class Receiver:
    def __init__(self, loop: asyncio.AbstractEventLoop, command: Command, *, name: str, storage: str,
                 on_sms: Callable[[str], None], on_report: Callable[[str, bool, bool], None]) -> None:
        self.loop = loop
        self._command = command
        self.name = name
        self.storage = storage
        self._on_sms = on_sms
        self._on_report = on_report
        # slots handed over whose AT+CMGD is still to come: an indication and a sweep may
        # both take one, and a second delete would hit the SMS the network stores in the
        # slot the first delete freed, unread
        self._deleting: set[tuple[str, int]] = set()
        self._selected = storage      # the storage AT+CPMS last selected for reading
        self._sweeping = False
        self._again = False           # something arrived during the sweep: one more after it
        # reads and sweeps; one that fails (the store did not take an SMS) leaves its slot
        self._reading = Procedures(loop, name)

    @property
    def busy(self) -> bool:
        """A read or a sweep is under way: it has more to ask the modem."""
        return self._reading.busy

    def cancel(self) -> None:
        """Give up every read and sweep (the port closed, or the modem rebooted): what they
        had not deleted stays on the SIM for the next sweep."""
        self._reading.cancel()
        self._sweeping = self._again = False
        self._deleting.clear()

    # -- URC handlers (registered on the channel by the driver) ----------------------------

    def on_indication(self, line: str, _: str | None) -> None:
        """+CMTI / +CDSI: something was stored; read it, hand it over, delete it."""
        match = _INDICATION.match(line)
        if match is None or int(match.group(2)) < 0:
            self.sweep()  # "+CMTI: ,-1" and the like: look at everything
            return
        storage = match.group(1).upper() or self.storage
        report = line.upper().startswith("+CDSI")
        if report and storage != "SR":
            storage = "SR"  # EC25 announces reports stored in SR as "SM"
        self._reading.start(self._read(storage, int(match.group(2)), report))

    def on_direct(self, line: str, pdu_line: str | None) -> None:
        """+CMT / +CDS: the PDU came with the indication; nothing to delete."""
        length = _LENGTH.search(line)
        tpdu_length = int(length.group(1)) if length else None
        report = line.upper().startswith("+CDS")
        # a report may come without its SMSC part: its length tells nothing about junk
        pdu_hex = replies.pdu_hex(pdu_line or "", None if report else tpdu_length)
        if pdu_hex is None:
            log.warning("%s: %s came without a PDU: %r", self.name, line, (pdu_line or "")[:40])
            return
        if report:
            self._on_report(pdu_hex, has_smsc(pdu_hex, tpdu_length), False)
        else:
            self._on_sms(pdu_hex)

    # -- reading ---------------------------------------------------------------------------

    async def _select(self, storage: str) -> bool:
        """Make ``storage`` the one AT+CMGR, AT+CMGL and AT+CMGD work on; False if refused."""
        if storage == self._selected:
            return True
        response = await self._command(f'AT+CPMS="{storage}"')
        if response.ok:
            self._selected = storage
            return True
        log.warning("%s: cannot select storage %s: %s", self.name, storage, response.result)
        return False

    async def _read(self, storage: str, index: int, report: bool) -> None:
        """One slot an indication named: read it, hand it over, delete it."""
        if not await self._select(storage):
            return
        response = await self._command(f"AT+CMGR={index}")
        # an empty slot answers +CMS ERROR 321 or 500, or a bare OK, by family
        read = replies.stored_pdus(response.lines, replies.CMGR) if response.ok else []
        if read:
            await self._hand_over(read[0][1], report, storage, index)

    async def _hand_over(self, pdu_hex: str | None, report: bool, storage: str, index: int) -> None:
        """Hand the slot's PDU over, then delete the slot; a slot whose PDU could not be
        read is left on the SIM (and read again at the next sweep): only what was
        committed is ever deleted."""
        slot = (storage, index)
        if slot in self._deleting:
            return  # handed over already; its delete is on the way
        if pdu_hex is None:
            log.warning("%s: no PDU could be read from slot %s/%d: left on the SIM", self.name, storage, index)
            return
        if report:
            self._on_report(pdu_hex, True, True)
        else:
            self._on_sms(pdu_hex)  # raises if it could not be kept: then the slot stays
        self._deleting.add(slot)
        try:
            await self._delete(storage, index)
        finally:
            self._deleting.discard(slot)

    async def _delete(self, storage: str, index: int) -> None:
        if await self._select(storage):
            response = await self._command(f"AT+CMGD={index}")
            if not response.ok:
                log.warning("%s: delete failed: %s", self.name, response.result)

    def sweep_new(self) -> None:
        """Something arrived that no indication may announce (the RI line fell): sweep now,
        or once more after the running sweep, whose listing may have been made before it."""
        if self._sweeping:
            self._again = True
        else:
            self.sweep()

    def sweep(self) -> None:
        """List every message in the storage (AT+CMGL=4) and take each one, in order."""
        if not self._sweeping:
            self._sweeping = True
            self._reading.start(self._sweep())

    async def _sweep(self) -> None:
        try:
            while True:
                listing = await self._list()
                # a ring while the modem listed may be for a message the listing missed
                again, self._again = self._again, False
                # every slot's delete is queued before the next listing: nothing is read twice
                await asyncio.gather(*(self._hand_over(pdu_hex, False, self.storage, index)
                                       for index, pdu_hex in listing))
                if not (again or self._again):  # nor did one ring while they were handed over
                    break
                self._again = False  # the next listing is made after those rings
        finally:
            self._sweeping = False

    async def _list(self) -> list[tuple[int, str | None]]:
        """The (slot, PDU) of every message in the storage, in the modem's order; the PDU
        is None where its line could not be read."""
        if not await self._select(self.storage):
            return []
        response = await self._command("AT+CMGL=4", timeout=SWEEP_TIMEOUT)
        if not response.ok:
            return []
        return [(int(match.group(1)), pdu_hex) for match, pdu_hex in replies.stored_pdus(response.lines, replies.CMGL)]
