"""What a +CMS ERROR means for the message: wait and try again, try another gateway, or
give up with a reason. docs/send-errors.md gives the table and what the appliance does.

Codes from 3GPP TS 27.005 §3.2.5: 0–127 are the RP causes of TS 24.011 (Annex E), as the
network reported them; 128–255 are the TP-FCS values of TS 23.040 §9.2.3.22; 300–511 are
the modem's own; 512 and up are the manufacturer's.

A send fails in one of four ways, and only the cause can tell which:

- **temporary** (:data:`TEMPORARY`): the network or the modem is in trouble for now. It
  says nothing about the message, so it costs none of its attempts: it is tried again
  after a pause until its validity runs out.
- **permanent** (:data:`PERMANENT`): the message or its destination is wrong; sending it
  again anywhere would fail the same way.
- **refused** (:data:`REFUSED`): this SIM or modem may not send it (barred, no SMS
  subscription); another gateway may.
- any other code: its meaning is unknown, so it costs one attempt, as every failure did
  before causes were told apart.
"""

from __future__ import annotations

# Causes that say the message itself or its destination is wrong: sending it again
# through any gateway would fail the same way.
PERMANENT = {
    1: "unassigned (unallocated) number",
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
    198: "TP-VPF not supported",
    199: "TP-VP not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
}

# Causes that say this SIM or modem may not send (barred, no SMS subscription, rejected by
# its network, a command the modem lacks): another gateway may well send the message, but
# this one will not, however often it tries.
REFUSED = {
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    29: "facility rejected",
    50: "requested facility not subscribed",
    193: "no SC subscription",
    303: "operation not supported",
}

# Causes of the moment: the network out of order or congested, no network, the SMS centre
# busy, the SIM or the modem not ready.
TEMPORARY = {
    17: "network failure",
    22: "memory capacity exceeded",
    27: "destination out of service",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable, unspecified",
    192: "SC busy",
    194: "SC system failure",
    197: "SM rejected, duplicate SM",
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    310: "SIM not inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    317: "SIM PIN2 required",
    318: "SIM PUK2 required",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}

MANUFACTURER_SPECIFIC = 512  # this code and every one above: the modem's own trouble

# every code's text, as a modem in AT+CMEE=2 mode would say it
CMS_TEXT: dict[int, str] = {**PERMANENT, **REFUSED, **TEMPORARY}


def cms_error_text(code: int | None) -> str:
    if code is None:
        return "unknown error"
    if code >= MANUFACTURER_SPECIFIC and code not in CMS_TEXT:
        return f"error {code} (manufacturer specific)"
    return CMS_TEXT.get(code, f"error {code}")


def is_permanent(code: int | None) -> bool:
    return code in PERMANENT


def is_refused(code: int | None) -> bool:
    return code in REFUSED


def is_temporary(code: int | None) -> bool:
    """A failure without a code is the modem's, never the message's: no answer (a timeout,
    a reboot, the port gone), not ready to send, or a bare ``ERROR``."""
    return code is None or code in TEMPORARY or code >= MANUFACTURER_SPECIFIC
