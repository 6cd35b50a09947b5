"""USSD replies (``+CUSD: <m>[,<str>[,<dcs>]]``) into text, whatever way the modem wrote them.

Modems give the string plain, as hex of GSM 7-bit packed septets (Huawei), or as hex of
UCS2, depending on family and DCS (docs/modems.md §5).
"""

from __future__ import annotations

import re

from ..pdu import _pdu
from .health import fields

_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def decode_cusd(value: str) -> tuple[int | None, str]:
    """(m, text): m 0 = final answer, 1 = the network wants a reply, 2 = ended, 4/5 = errors."""
    parts = fields(value)
    status = int(parts[0]) if parts and parts[0].isdigit() else None
    text = parts[1] if len(parts) > 1 else ""
    dcs = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 15
    if text and _HEX.match(text) and len(text) >= 4:
        raw = bytes.fromhex(text)
        if dcs & 0x0C == 0x08 or dcs == 72:       # UCS2
            return status, raw.decode("utf-16-be", "replace")
        if dcs in (0x0F, 0x00) or dcs & 0xF0 == 0x40:  # GSM 7-bit, packed
            septets = _pdu.unpack7(raw, len(raw) * 8 // 7)
            return status, _pdu.gsm7_decode(septets).rstrip("\r\n@")
    return status, text
