"""SMS-STATUS-REPORT PDUs (3GPP TS 23.040 §9.2.2.3), as the network sends them to the modem.

The appliance's codec decodes status reports but has no encoder for them (a handset never
builds one), so the simulated network builds them here: first octet, TP-MR, TP-RA,
TP-SCTS, TP-DT and TP-ST, without the optional parameter indicator.
"""

from __future__ import annotations

import datetime

__all__ = ["DELIVERED", "encode_status_report"]

DELIVERED = 0x00  # TP-ST "short message received by the SME"
FIRST_OCTET = 0x06  # TP-MTI 10 (status report), TP-MMS 1 (no more messages), TP-SRQ 0


def _semi_octets(digits: str) -> str:
    """BCD digits with the nibbles of each octet swapped, padded with F."""
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def _address(number: str, toa: int) -> str:
    """An address field of the TPDU: digit count, type of address, semi-octets."""
    digits = number.lstrip("+")
    if not digits.isdigit():
        raise ValueError(f"a status report's recipient is a phone number, not {number!r}")
    return f"{len(digits):02X}{toa:02X}{_semi_octets(digits)}"


def _smsc_part(smsc: str | None) -> str:
    """The SMSC part before the TPDU: ``00`` when unknown, else length, TOA, semi-octets."""
    if not smsc:
        return "00"
    digits = smsc.lstrip("+")
    toa = 0x91 if smsc.startswith("+") else 0x81
    body = f"{toa:02X}{_semi_octets(digits)}"
    return f"{len(body) // 2:02X}{body}"


def _timestamp(moment: datetime.datetime) -> str:
    """TP-SCTS / TP-DT: yy MM dd hh mm ss in semi-octets, then the zone in quarter hours."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a timestamp needs a time zone")
    quarters = int(offset.total_seconds()) // 900
    fields = moment.strftime("%y%m%d%H%M%S") + f"{abs(quarters):02d}"
    octets = bytearray.fromhex(_semi_octets(fields))
    if quarters < 0:
        octets[-1] |= 0x08
    return octets.hex().upper()


def encode_status_report(
    *,
    reference: int,
    recipient: str,
    recipient_toa: int,
    status: int = DELIVERED,
    submitted: datetime.datetime,
    discharged: datetime.datetime,
    smsc: str | None = None,
) -> tuple[str, int]:
    """The report on message ``reference`` (the ``+CMGS: <mr>``) sent to ``recipient``.

    Returns the hex PDU with its SMSC part and the TPDU length (what ``+CDS: <length>``
    and ``+CMGR`` show).
    """
    if not 0 <= reference <= 255 or not 0 <= status <= 255:
        raise ValueError("reference and status are octets")
    tpdu = (
        f"{FIRST_OCTET:02X}{reference:02X}"
        + _address(recipient, recipient_toa)
        + _timestamp(submitted)
        + _timestamp(discharged)
        + f"{status:02X}"
    )
    return _smsc_part(smsc) + tpdu, len(tpdu) // 2
