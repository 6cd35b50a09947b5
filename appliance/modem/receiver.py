"""Getting SMS and delivery reports out of a modem: indications, reads, sweeps, deletes.

The rule that keeps messages safe: a slot is deleted only after its content was handed
to ``on_sms`` / ``on_report`` and they returned — which means it is committed. If the
process dies in between, the next sweep reads the slot again and the store ignores the
duplicate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from .at import CLOSED, Response

log = logging.getLogger(__name__)

Command = Callable[..., None]          # ATChannel.command(text, callback, timeout=...)

_INDICATION = re.compile(r'^\+C(?:MTI|DSI):\s*"?([A-Z_]*)"?\s*,\s*(-?\d+)', re.IGNORECASE)
_LISTED = re.compile(r"^\+CMGL:\s*(\d+)\s*,\s*(\d*)\s*,[^,]*,\s*(\d+)", re.IGNORECASE)
_LENGTH = re.compile(r"(\d+)\s*$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def has_smsc(pdu_hex: str, tpdu_length: int | None) -> bool:
    """+CDS and +CMT give the TPDU length; a PDU longer than that carries an SMSC part."""
    return tpdu_length is None or len(pdu_hex) // 2 != tpdu_length


class Receiver:
    def __init__(self, command: Command, *, name: str, storage: str,
                 on_sms: Callable[[str], None], on_report: Callable[[str, bool], None]) -> None:
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
        self._read(storage, int(match.group(2)), report)

    def on_direct(self, line: str, pdu_line: str | None) -> None:
        """+CMT / +CDS: the PDU came with the indication; nothing to delete."""
        if not pdu_line or not _HEX.match(pdu_line.strip()):
            log.warning("%s: %s came without a PDU", self.name, line)
            return
        pdu_hex = pdu_line.strip()
        length = _LENGTH.search(line)
        tpdu_length = int(length.group(1)) if length else None
        if line.upper().startswith("+CDS"):
            self._on_report(pdu_hex, has_smsc(pdu_hex, tpdu_length))
        else:
            self._on_sms(pdu_hex)

    # -- reading ---------------------------------------------------------------------------

    def _select(self, storage: str, then: Callable[[], None],
                failed: Callable[[], None] = lambda: None) -> None:
        if storage == self._selected:
            then()
            return

        def selected(response: Response) -> None:
            if response.ok:
                self._selected = storage
                then()
                return
            if response.result != CLOSED:
                log.warning("%s: cannot select storage %s: %s", self.name, storage, response.result)
            failed()
        self._command(f'AT+CPMS="{storage}"', selected)

    def _read(self, storage: str, index: int, report: bool) -> None:
        def read(response: Response) -> None:
            # an empty slot answers +CMS ERROR 321 or 500, or a bare OK, by family
            if not response.ok or len(response.lines) < 2:
                return
            self._hand_over(response.lines[1].strip(), report, storage, index)

        self._select(storage, lambda: self._command(f"AT+CMGR={index}", read))

    def _hand_over(self, pdu_hex: str, report: bool, storage: str, index: int) -> None:
        slot = (storage, index)
        if slot in self._deleting:
            return  # handed over already; its delete is on the way
        if not _HEX.match(pdu_hex):
            log.warning("%s: slot %s/%d holds no PDU: %r", self.name, storage, index, pdu_hex[:40])
        elif report:
            self._on_report(pdu_hex, True)
        else:
            self._on_sms(pdu_hex)  # raises if it could not be kept: then the slot stays
        self._deleting.add(slot)

        def deleted(response: Response) -> None:
            self._deleting.discard(slot)
            if not response.ok and response.result != CLOSED:
                log.warning("%s: delete failed: %s", self.name, response.result)
        self._select(storage, lambda: self._command(f"AT+CMGD={index}", deleted),
                     lambda: self._deleting.discard(slot))

    def sweep_new(self) -> None:
        """Something arrived that no indication may announce (the RI line fell): sweep now,
        or once more after the running sweep, whose listing may have been made before it."""
        if self._sweeping:
            self._again = True
        else:
            self.sweep()

    def sweep(self) -> None:
        """List every message in the storage (AT+CMGL=4) and take each one, in order."""
        if self._sweeping:
            return
        self._sweeping = True

        def listed(response: Response) -> None:
            self._sweeping = False
            again, self._again = self._again, False
            if response.ok:
                lines = response.lines
                for i, line in enumerate(lines):
                    match = _LISTED.match(line)
                    if match and i + 1 < len(lines):
                        self._hand_over(lines[i + 1].strip(), False, self.storage, int(match.group(1)))
            if again and response.result != CLOSED:
                self.sweep()  # after the deletes just queued: nothing is read twice

        self._select(self.storage, lambda: self._command("AT+CMGL=4", listed, timeout=30.0))
