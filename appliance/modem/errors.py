"""What a +CMS ERROR means for the message: try again later, or give up with a reason.

Codes from 3GPP TS 27.005 §3.2.5 (0–127 are network causes of TS 24.011 / 23.040).
"""

from __future__ import annotations

# Causes that say the message itself or its destination is wrong: sending it again
# through any gateway would fail the same way.
PERMANENT = {
    1: "unassigned (unallocated) number",
    27: "destination out of service",
    28: "unidentified subscriber",
    30: "unknown subscriber",
    69: "requested facility not implemented",
    81: "invalid short message transfer reference value",
    95: "invalid message, unspecified",
    96: "invalid mandatory information",
    97: "message type non-existent or not implemented",
    98: "message not compatible with short message protocol state",
    99: "information element non-existent or not implemented",
    111: "protocol error, unspecified",
    127: "interworking, unspecified",
    128: "telematic interworking not supported",
    129: "short message type 0 not supported",
    130: "cannot replace short message",
    143: "unspecified TP-PID error",
    144: "data coding scheme (alphabet) not supported",
    145: "message class not supported",
    159: "unspecified TP-DCS error",
    160: "command cannot be actioned",
    161: "command unsupported",
    175: "unspecified TP-Command error",
    176: "TPDU not supported",
    195: "invalid SME address",
    196: "destination SME barred",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
}

# Causes that say this SIM may not send (barred, no SMS subscription, rejected by its
# network): another gateway may well send the message, but this one will not, however
# often it tries.
REFUSED = {
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    29: "facility rejected",
    50: "requested facility not subscribed",
}

# Causes of the moment: congestion, no network, SIM busy, the modem not ready.
TRANSIENT = {
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable, unspecified",
    192: "SC busy",
    193: "no SC subscription",
    194: "SC system failure",
    197: "SM rejected, duplicate SM",
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    310: "SIM not inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}


# every code's text, as a modem in AT+CMEE=2 mode would say it
CMS_TEXT: dict[int, str] = {**PERMANENT, **REFUSED, **TRANSIENT}


def cms_error_text(code: int | None) -> str:
    if code is None:
        return "unknown error"
    return CMS_TEXT.get(code, f"error {code}")


def is_permanent(code: int | None) -> bool:
    """Unknown codes count as transient: another attempt is cheaper than a lost message."""
    return code in PERMANENT


def is_refused(code: int | None) -> bool:
    return code in REFUSED
