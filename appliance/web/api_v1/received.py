"""/api/v1/received: the SMS received for the HTTP connector, oldest or newest first,
optionally taken out of the inbox as they are read."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import peewee
from msgspec import Meta

from ...store.models import InboundMessage
from .auth import require_local
from .endpoint import Api, Call
from .fields import Input, Output, Time, timestamp
from .wire import not_found

MAX_PAGE = 1000


class ReceivedQuery(Input, kw_only=True):
    """Which to list (GET) or take out of the inbox (POST /received/take): a GET changes
    nothing, so that a link or a page of another site cannot empty the inbox."""

    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE, description="how many at most")] = 100
    order: Annotated[Literal["oldest", "newest"], Meta(description="which first")] = "oldest"


class Received(Output):
    id: str
    gateway: str
    sender: str = msgspec.field(name="from")
    to: str
    message: str
    message_type: str
    smsc: str
    parts_received: int
    parts_total: int
    sent_at: Time | None       # the time stamp of the service centre
    received_at: Time


class ReceivedList(Output):
    messages: list[Received]


def received_data(message: InboundMessage) -> Received:
    return Received(
        id=message.id, gateway=message.gateway, sender=message.originator, to=message.recipient,
        message=message.text, message_type=message.message_type, smsc=message.smsc,
        parts_received=message.parts_received, parts_total=message.parts_total,
        sent_at=timestamp(message.sent_at), received_at=timestamp(message.received_at))


def install(api: Api) -> None:
    def received(call: Call, *, remove: bool) -> ReceivedList:
        require_local(call.principal, "received messages")
        q: ReceivedQuery = call.query
        messages = call.context.http.inbox.received(call.context.http.connector, limit=q.limit,
                                                    newest_first=q.order == "newest", remove=remove)
        return ReceivedList([received_data(m) for m in messages])

    @api.route("GET", "/received", query=ReceivedQuery)
    def list_received(call: Call) -> ReceivedList:
        return received(call, remove=False)

    @api.route("POST", "/received/take", query=ReceivedQuery)
    def take_received(call: Call) -> ReceivedList:
        """The listed messages are taken out of the inbox in the same transaction."""
        return received(call, remove=True)

    @api.route("GET", "/received/<message_id>")
    def get_received(call: Call, message_id: str) -> Received:
        require_local(call.principal, "received messages")
        listed = ";" + InboundMessage.connectors + ";"
        message = InboundMessage.get_or_none(
            (InboundMessage.id == message_id) & ~InboundMessage.removed
            & (peewee.fn.instr(listed, f";{call.context.http.connector};") > 0))
        if message is None:
            raise not_found(f"received message {message_id!r}")
        return received_data(message)
