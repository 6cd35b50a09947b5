"""The interface every gateway offers the router, whatever carries the SMS."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ..store.models import OutboundMessage
from ..store.queue import Queue


@dataclass(frozen=True)
class Outcome:
    """How one attempt to send a message ended."""

    ok: bool
    error_code: int | None = None
    error_text: str = ""
    permanent: bool = False    # sending it again anywhere would fail the same way
    refused: bool = False      # this gateway will never send it; another one may
    # the network or the gateway is in trouble for now (modem/errors.py): the attempt says
    # nothing about the message, so it costs none of its attempts
    temporary: bool = False
    parts: int = 0             # SMS parts that went out in this attempt (for send limits)
    retry_after: float | None = None   # temporary: seconds the gateway asks to wait (a 429's Retry-After)
    provider_reference: str = ""       # ok: the HTTP provider's id of the message, for its status API


Done = Callable[[Outcome], None]


class Gateway(ABC):
    name: str

    @property
    @abstractmethod
    def available(self) -> bool:
        """True when the gateway can take one more message right now."""

    @property
    @abstractmethod
    def in_service(self) -> bool:
        """False while the gateway is down (not merely busy): backups then stand in for it."""

    @abstractmethod
    def status(self) -> dict:
        """State for the status page and the API: at least ``state`` and ``detail``."""

    @abstractmethod
    def send(self, message: OutboundMessage, queue: Queue, done: Done) -> None:
        """Send every pending part of ``message``, recording each in ``queue``; then ``done``.

        Called on the event loop; must not block (a gateway that waits for a device or a
        peer does so in a task of its own). ``done`` is called exactly once.
        """

    def start(self) -> None:  # noqa: B027 (an optional hook: a gateway may have nothing to start)
        """Begin (or resume) work; called once the router is listening."""

    def stop(self) -> None:  # noqa: B027 (an optional hook, like start)
        """Stop taking messages and release the device."""
