"""Stop words: an SMS that says only "STOP" (or another configured word) blocks its sender.

People answer an unwanted SMS with STOP and expect to get no more. The check runs where a
complete received message is fanned out to the connectors, in the transaction that
stores it, so the message, its sender's block list entry, the event and the optional
confirmation SMS are committed together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ..messages import blocklist
from ..store.models import InboundMessage
from ..store.queue import NewMessage, Queue

log = logging.getLogger(__name__)


class StopWords:
    def __init__(self, words: Iterable[str], *, queue: Queue, confirmation: str = "", connector: str,
                 country_code: str | None = None, on_queued: Callable[[], object] = lambda: None) -> None:
        """``confirmation``: the text sent back (nothing when empty), queued for
        ``connector`` through the gateway the stop word came in by; ``on_queued`` is told
        once it is queued, still inside the transaction (so it must only schedule work)."""
        self.words = frozenset(word.strip().casefold() for word in words)
        self.queue = queue
        self.confirmation = confirmation
        self.connector = connector
        self.country_code = country_code
        self.on_queued = on_queued

    def received(self, message: InboundMessage) -> bool:
        """Block the sender if the whole text is a stop word; true if it did."""
        text = message.text.strip()
        if text.casefold() not in self.words:
            return False
        try:
            blocklist.add(message.originator, source="stop word", gateway=message.gateway,
                          reason=f"sent {text!r} (received message {message.id})", country_code=self.country_code)
        except ValueError:  # an alphanumeric sender: nothing is ever sent to it anyway
            log.info("%s: stop word from %r, which is no number: nothing to block", message.gateway,
                     message.originator)
            return False
        log.info("%s: %s sent a stop word and is blocked", message.gateway, message.originator)
        if self.confirmation:
            # to the number as the network gave it: the block list refuses it to everyone else
            self.queue.add([NewMessage(recipient=message.originator, text=self.confirmation,
                                       gateways=message.gateway, connector=self.connector,
                                       message_info=f"stop word confirmation for {message.id}")])
            self.on_queued()
        return True
