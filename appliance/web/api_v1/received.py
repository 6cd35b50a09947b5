"""/api/v1/received: the SMS received for the HTTP connector, oldest or newest first,
optionally taken out of the inbox as they are read."""

from __future__ import annotations

from typing import Annotated, Literal

import peewee
from msgspec import Meta

from ...store.models import InboundMessage
from .auth import require_local
from .endpoint import Api, Call
from .fields import Input, timestamp
from .wire import not_found

MAX_PAGE = 1000


class ReceivedQuery(Input, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE, description="how many at most")] = 100
    order: Annotated[Literal["oldest", "newest"], Meta(description="which first")] = "oldest"
    remove: Annotated[bool, Meta(description="take them out of the inbox")] = False


def received_data(message: InboundMessage) -> dict:
    return {
        "id": message.id, "gateway": message.gateway, "from": message.originator, "to": message.recipient,
        "message": message.text, "message_type": message.message_type, "smsc": message.smsc,
        "parts_received": message.parts_received, "parts_total": message.parts_total,
        "sent_at": timestamp(message.sent_at), "received_at": timestamp(message.received_at),
    }


def install(api: Api) -> None:
    @api.route("GET", "/received", query=ReceivedQuery)
    def list_received(call: Call) -> dict:
        require_local(call.principal, "received messages")
        q: ReceivedQuery = call.query
        messages = call.context.http.inbox.received(call.context.http.connector, limit=q.limit,
                                                    newest_first=q.order == "newest", remove=q.remove)
        return {"messages": [received_data(m) for m in messages]}

    @api.route("GET", "/received/<message_id>")
    def get_received(call: Call, message_id: str) -> dict:
        require_local(call.principal, "received messages")
        listed = ";" + InboundMessage.connectors + ";"
        message = InboundMessage.get_or_none(
            (InboundMessage.id == message_id) & ~InboundMessage.removed
            & (peewee.fn.instr(listed, f";{call.context.http.connector};") > 0))
        if message is None:
            raise not_found(f"received message {message_id!r}")
        return received_data(message)
