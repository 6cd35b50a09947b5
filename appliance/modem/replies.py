"""Picking what a command asked for out of its reply by the shape of the lines, not their place.

Between a command and its final result a modem may write lines nobody asked for: a call
(``RING``, ``+CRING: VOICE``, ``+CLIP: ...``), network notices (``+CGREG:``, ``+CIEV:``,
``^RSSI:``), readiness codes after a reboot (``PB DONE``, ``+CPIN: READY``, ``^BOOT:``).
The channel hands the ones the driver has a handler for to that handler; every other one
lands among the reply's lines, wherever it came. So nothing here takes "line 0" or
"line 1": an information line is found by not looking unsolicited (or by its prefix), a
stored PDU as the line that follows its ``+CMGR:`` / ``+CMGL:`` header, and the PDU in
that line as its longest run of hex digits, since some firmware writes a stray quote or
other junk after it. docs/modems.md §1 and §5 list the shapes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the channel asks is_unsolicited too: no import of it at run time
    from .at import Response

# how lines nobody asked for begin: result codes with a prefix ("+CLIP:", "^BOOT:"), the
# call and readiness words, and the power warnings (boot banners are URCs of the driver's
# own and never reach a reply)
_UNSOLICITED = ("+", "^", "RING", "PB DONE", "NORMAL POWER", "UNDER-VOLTAGE", "OVER-VOLTAGE")

CMGR = re.compile(r"^\+CMGR:\s*(.*)$", re.IGNORECASE)
# +CMGL: <index>,<stat>,[<alpha>],<length>
CMGL = re.compile(r"^\+CMGL:\s*(\d+)\s*,(.*)$", re.IGNORECASE)
# a header's last field, the TPDU length, ahead of any junk that is neither digit nor comma
_LENGTH = re.compile(r",\s*\"?(\d+)[^\d,]*$")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]+")
_MAX_SMSC_OCTETS = 12  # a type octet and at most 20 digits: more is not an SMSC length


def is_unsolicited(line: str) -> bool:
    """Whether ``line`` has the shape of a code the modem sends unasked."""
    return line.upper().startswith(_UNSOLICITED)


def information(response: Response, prefix: str) -> str | None:
    """The answer of an identity command (AT+CGMM, AT+CGMI, AT+CGSN): the value of its
    ``<prefix>:`` line where the firmware writes one, else the first line that does not
    look unsolicited; None when there is none."""
    value = response.info(prefix)
    if value is not None:
        return value.strip().strip('"').strip()
    return next((line.strip() for line in response.lines if not is_unsolicited(line)), None)


def pdu_hex(line: str, tpdu_length: int | None) -> str | None:
    """The PDU in ``line``: its longest run of hex digits, so that a stray quote or other
    junk around it is dropped; None when there is no hex at all.

    With ``tpdu_length`` (a header's ``<length>``: the TPDU's octets, the SMSC part not
    counted) a run longer than the PDU that the SMSC length octet and it describe is cut
    to that length: junk made of hex digits right after the PDU goes too. A run shorter
    than that is handed over as it is, half an octet included: the store keeps what cannot
    be decoded exactly as it came. Without a length, a trailing half octet is junk."""
    runs = _HEX_RUN.findall(line)
    if not runs:
        return None
    run = max(runs, key=len)
    if tpdu_length is not None and len(run) >= 2:
        smsc_octets = int(run[:2], 16)
        if smsc_octets <= _MAX_SMSC_OCTETS:
            return run[:2 * (1 + smsc_octets + tpdu_length)]
    run = run[:len(run) - len(run) % 2]  # a PDU is whole octets
    return run or None


def _tpdu_length(fields: str) -> int | None:
    match = _LENGTH.search(fields)
    return int(match.group(1)) if match else None


def stored_pdus(lines: list[str], header: re.Pattern[str]) -> list[tuple[re.Match[str], str | None]]:
    """Each ``header`` line of a reply (:data:`CMGR` or :data:`CMGL`) with the PDU of the
    line after it, lines of unsolicited shape in between skipped; the PDU is None when
    the next header or the end comes first, or that line holds no hex."""
    found: list[tuple[re.Match[str], str | None]] = []
    for index, line in enumerate(lines):
        match = header.match(line)
        if match is None:
            continue
        body = next((later for later in lines[index + 1:]
                     if header.match(later) or not is_unsolicited(later)), None)
        if body is None or header.match(body):
            found.append((match, None))
        else:
            found.append((match, pdu_hex(body, _tpdu_length(match.group(match.lastindex or 0)))))
    return found
