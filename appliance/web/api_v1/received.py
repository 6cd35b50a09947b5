"""/api/v1/received: the SMS received for the HTTP connector, oldest or newest first,
optionally taken out of the inbox as they are read; one whose PDU could not be decoded is
among them, marked ``undecodable``. /api/v1/unmatched-reports: the delivery reports the
modems received that name no message of ours, or could not be decoded."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import peewee
from msgspec import Meta

from ...store.models import InboundMessage, UnmatchedReport
from ...store.reports import report_status_text, unmatched_reports
from .auth import require_admin, require_local
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
    undecodable: bool          # the PDU could not be decoded: `message` says why and holds it
    pdu: str                   # the PDUs as received, in hex, space-separated


class ReceivedList(Output):
    messages: list[Received]


class UnmatchedQuery(Input, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE, description="how many at most, newest first")] = 100


class UnmatchedReportData(Output):
    id: int
    gateway: str
    reference: int | None      # TP-MR; null if the PDU did not decode
    to: str
    tp_status: int | None
    tp_status_text: str | None
    pdu: str
    decode_error: str | None   # why the PDU could not be decoded
    received_at: Time


class UnmatchedReportList(Output):
    reports: list[UnmatchedReportData]


def received_data(message: InboundMessage) -> Received:
    return Received(
        id=message.id, gateway=message.gateway, sender=message.originator, to=message.recipient,
        message=message.text, message_type=message.message_type, smsc=message.smsc,
        parts_received=message.parts_received, parts_total=message.parts_total,
        sent_at=timestamp(message.sent_at), received_at=timestamp(message.received_at),
        undecodable=bool(message.decode_error), pdu=message.pdu)


def unmatched_data(report: UnmatchedReport) -> UnmatchedReportData:
    return UnmatchedReportData(
        id=report.id, gateway=report.gateway, reference=report.reference, to=report.recipient,
        tp_status=report.status,
        tp_status_text=None if report.status is None else report_status_text(report.status),
        pdu=report.pdu, decode_error=report.decode_error or None, received_at=timestamp(report.received_at))


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

    @api.route("GET", "/unmatched-reports", query=UnmatchedQuery)
    def list_unmatched_reports(call: Call) -> UnmatchedReportList:
        require_admin(call.principal)  # reports of anyone's messages, or of none
        return UnmatchedReportList([unmatched_data(r) for r in unmatched_reports(call.query.limit)])
