"""Diafaan's message-type values and what each asks of the encoder.

The API rejects any other value, so a typo never silently changes how a message is sent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageType:
    encoding: str                 # "auto", "gsm7" or "ucs2": see appliance.pdu.encode_submit
    message_class: int | None     # 0 = flash: shown at once, not stored by the phone


MESSAGE_TYPES: dict[str, MessageType] = {
    "sms.automatic": MessageType("auto", None),
    "sms.text": MessageType("gsm7", None),
    "sms.unicode": MessageType("ucs2", None),
    "sms.flash": MessageType("auto", 0),
    "sms.flash.text": MessageType("gsm7", 0),
    "sms.flash.unicode": MessageType("ucs2", 0),
}

DEFAULT_MESSAGE_TYPE = "sms.automatic"
