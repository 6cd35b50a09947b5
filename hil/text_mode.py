"""Text mode (AT+CMGF=1): how stored and incoming PDUs are shown, and sends built from text.

27.005 §3.1 / §4: in text mode the modem decodes each PDU into header fields and its text,
and hides the UDH: every part of a long message is listed as a message of its own, cut
mid-word (docs/modems.md §6). AT+CSDH=1 adds the detailed header fields. Texts that
are not in the GSM alphabet (UCS2, 8-bit data) are shown as hex, as SIMCom modules do.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from appliance.pdu import Deliver, PDUError, StatusReport, Submit, decode, encode_submit
from hil.at_commands import AtError
from hil.network import clock_string
from hil.storage import Stat, StoredMessage

if TYPE_CHECKING:
    from hil.at_commands import ModemSettings

__all__ = ["STATS_BY_NAME", "direct", "list_entry", "read_entry", "submit_pdu"]

Message = Deliver | Submit | StatusReport

# The stats of a stored message by their text-mode names (AT+CMGL="REC UNREAD").
STATS_BY_NAME: dict[str, frozenset[Stat]] = {stat.text: frozenset({stat}) for stat in Stat}
STATS_BY_NAME["ALL"] = frozenset(Stat)


def _decode(pdu: str) -> Message | None:
    try:
        return decode(pdu)
    except PDUError:
        return None  # a malformed PDU from the network: shown as raw hex


def _first_octet(pdu: str) -> int:
    smsc_octets = int(pdu[:2], 16)
    return int(pdu[2 + 2 * smsc_octets : 4 + 2 * smsc_octets], 16)


def _data(message: Deliver | Submit, charset: str) -> str:
    if message.encoding == "8bit":
        return message.data.hex().upper()
    text = message.text or ""
    if message.encoding == "ucs2" or charset == "UCS2":
        return text.encode("utf-16-be").hex().upper()
    return text


def _length(message: Deliver | Submit) -> int:
    return len(message.data) if message.encoding == "8bit" else len(message.text or "")


def _details(pdu: str, message: Deliver | Submit) -> str:
    """``<fo>,<pid>,<dcs>,["<vp>",]"<sca>",<tosca>,<length>`` of the AT+CSDH=1 forms (a
    SUBMIT has an empty <vp> there)."""
    sca = message.smsc or ""
    tosca = 145 if sca.startswith("+") else 129
    vp = "," if isinstance(message, Submit) else ""
    return (
        f'{_first_octet(pdu)},{message.pid},{message.dcs},{vp}"{sca}",{tosca},'
        f"{_length(message)}"
    )


def _report_fields(pdu: str, report: StatusReport) -> str:
    """``<fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`` of a status report."""
    return (
        f'{_first_octet(pdu)},{report.reference},"{report.number}",{report.toa},'
        f'"{clock_string(report.timestamp)}","{clock_string(report.discharge_time)}",'
        f"{report.status}"
    )


def _entry(prefix: str, stored: StoredMessage, settings: ModemSettings) -> list[str]:
    """The +CMGL / +CMGR lines of one stored message; ``prefix`` is ``+CMGL: <index>,``
    or ``+CMGR: ``."""
    message = _decode(stored.pdu)
    stat = f'"{stored.stat.text}"'
    if message is None:
        return [f"{prefix}{stat},,,", stored.pdu]
    if isinstance(message, StatusReport):
        return [f"{prefix}{stat},{_report_fields(stored.pdu, message)}"]
    head = f'{prefix}{stat},"{message.number}",""'
    if isinstance(message, Deliver):
        head += f',"{clock_string(message.timestamp)}"'
    if settings.csdh:
        if prefix.startswith("+CMGR"):
            head += f",{message.toa},{_details(stored.pdu, message)}"
        else:  # +CMGL: ...,[<scts>],<tooa/toda>,<length>: a SUBMIT has no <scts>
            no_scts = "" if isinstance(message, Deliver) else ","
            head += f"{no_scts},{message.toa},{_length(message)}"
    return [head, _data(message, settings.charset)]


def list_entry(index: int, stored: StoredMessage, settings: ModemSettings) -> list[str]:
    """``+CMGL: <index>,<stat>,...`` and the text of one stored message."""
    return _entry(f"+CMGL: {index},", stored, settings)


def read_entry(stored: StoredMessage, settings: ModemSettings) -> list[str]:
    """``+CMGR: <stat>,...`` and the text of one stored message."""
    return _entry("+CMGR: ", stored, settings)


def direct(pdu: str, report: bool, settings: ModemSettings) -> list[str]:
    """The ``+CMT`` (two lines) or ``+CDS`` (one line) of a message routed directly."""
    message = _decode(pdu)
    if isinstance(message, StatusReport) and report:
        return [f"+CDS: {_report_fields(pdu, message)}"]
    if not isinstance(message, Deliver):
        return ['+CMT: "",,', pdu]
    head = f'+CMT: "{message.number}","","{clock_string(message.timestamp)}"'
    if settings.csdh:
        head += f",{message.toa},{_details(pdu, message)}"
    return [head, _data(message, settings.charset)]


def _validity(vp: int) -> datetime.timedelta:
    """TP-VP in the relative format (23.040 §9.2.3.12.1)."""
    if vp <= 143:
        return datetime.timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return datetime.timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return datetime.timedelta(days=vp - 166)
    return datetime.timedelta(weeks=vp - 192)


def submit_pdu(number: str, toa: int, body: str, settings: ModemSettings) -> tuple[str, int]:
    """The SMS-SUBMIT a text-mode send makes of ``body``, per AT+CSMP and AT+CSCS.

    Returns the PDU (SMSC part ``00``) and its TPDU length; one part only, as on real
    modules (``+CMS ERROR: 305`` otherwise).
    """
    fo, vp, _pid, dcs = settings.csmp
    try:
        text = bytes.fromhex(body).decode("utf-16-be") if settings.charset == "UCS2" else body
        if toa == 145 and not number.startswith("+"):
            number = "+" + number
        parts = encode_submit(
            number,
            text,
            encoding="ucs2" if dcs & 0x0C == 0x08 else "gsm7",
            status_report=bool(fo & 0x20),
            validity=_validity(vp) if fo & 0x18 == 0x10 else None,
        )
    except (ValueError, UnicodeDecodeError):  # PDUError is a ValueError
        raise AtError("CMS", 305) from None
    if len(parts) != 1:
        raise AtError("CMS", 305)
    return parts[0].pdu, parts[0].tpdu_length
