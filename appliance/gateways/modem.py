"""A modem as a gateway: a message becomes PDUs, each sent with AT+CMGS in turn."""

from __future__ import annotations

import logging
import zlib
from typing import Callable

from .. import pdu
from ..message_types import MESSAGE_TYPES
from ..modem.driver import ModemDriver, SendResult
from ..store.models import OutboundMessage
from ..store.queue import PartToSend, Queue
from .base import Done, Gateway, Outcome

log = logging.getLogger(__name__)


def build_pdus(message: OutboundMessage, smsc: str | None) -> list[tuple[str, int]]:
    """The PDUs of a message; built once and stored, so a resend repeats the same parts."""
    kind = MESSAGE_TYPES[message.message_type]
    # a stable concatenation reference per message: parts resent after a restart still join
    concat_reference = zlib.crc32(message.id.encode()) & 0xFF
    parts = pdu.encode_submit(message.recipient, message.text, smsc=smsc, encoding=kind.encoding,
                              message_class=kind.message_class, concat_reference=concat_reference)
    return [(part.pdu, part.tpdu_length) for part in parts]


class ModemGateway(Gateway):
    def __init__(self, driver: ModemDriver) -> None:
        self.driver = driver
        self.name = driver.name
        self._busy = False

    @property
    def available(self) -> bool:
        return not self._busy and self.driver.ready

    def status(self) -> dict:
        return {"state": self.driver.state, "detail": self.driver.detail, "model": self.driver.model,
                "port": self.driver.port}

    def start(self) -> None:
        self.driver.start()

    def stop(self) -> None:
        self.driver.stop()

    def send(self, message: OutboundMessage, queue: Queue, done: Done) -> None:
        try:
            parts = queue.parts(message.id, lambda: build_pdus(message, self.driver.smsc))
        except pdu.PDUError as error:
            done(Outcome(False, error_text=str(error), permanent=True))
            return
        self._busy = True

        def finish(outcome: Outcome) -> None:
            self._busy = False
            done(outcome)
        self._send_parts(message, parts, queue, finish)

    def _send_parts(self, message: OutboundMessage, parts: list[PartToSend], queue: Queue,
                    done: Callable[[Outcome], None]) -> None:
        if not parts:
            done(Outcome(True))
            return
        part, rest = parts[0], parts[1:]

        def sent(result: SendResult) -> None:
            if not result.ok:
                done(Outcome(False, result.error_code, result.error_text, result.permanent))
                return
            queue.part_sent(part.id, result.reference if result.reference is not None else -1, self.name)
            self._send_parts(message, rest, queue, done)
        self.driver.send(part.pdu, part.tpdu_length, sent)
