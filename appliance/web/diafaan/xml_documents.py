"""The XML documents of the /http API: Diafaan's MessageList of received messages, and the
ServerStatus of request-server-status. Formats are documented in docs/http-api.md; a
client parses them by element name, so names, once published, stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element

from ...store.models import InboundMessage
from .xml_reply import XmlReply, child, document, local_date_time, local_time

WHOLE_MESSAGE = -1  # MessagePart of an assembled message (Diafaan numbers parts from 1)


def message_list(messages: Iterable[InboundMessage], *, removed: bool) -> XmlReply:
    """``removed``: the messages were taken out of the inbox by this request (remove=1)."""
    root = Element("MessageList")
    count = 0
    for message in messages:
        count += 1
        entry = child(root, "Message")
        child(entry, "From", message.originator)
        child(entry, "To", message.recipient)
        child(entry, "MessageText", message.text)
        child(entry, "MessageType", message.message_type)
        child(entry, "MessageId", message.id)
        child(entry, "MessagePart", WHOLE_MESSAGE)
        child(entry, "ReceivedMessageParts", message.parts_received)
        child(entry, "TotalMessageParts", message.parts_total)
        child(entry, "SendTime", local_time(message.sent_at))
        child(entry, "ReceiveTime", local_time(message.received_at))
        child(entry, "Gateway", message.gateway)
        # 12th child: clients read the receive time by position here and parse it as a
        # date and time (docs/http-api.md, "request-received-messages")
        child(entry, "ReceiveDateTime", local_date_time(message.received_at))
        child(entry, "SMSC", message.smsc)
        child(entry, "PDU", message.pdu)
        child(entry, "IsRemoved", removed)
    root.set("Count", str(count))
    return document(root)


def server_status(status: dict) -> XmlReply:
    """``status`` is the dict of appliance.control.server_status.collect."""
    root = Element("ServerStatus")
    server = child(root, "Server")
    child(server, "Name", status["name"])
    child(server, "Version", status["version"])
    child(server, "ServerTime", local_time(status["time"]))
    child(server, "StartTime", local_time(status["started_at"]))
    child(server, "Uptime", status["uptime"])
    child(server, "Storage", status.get("storage", "OK"))
    messages = child(root, "Messages")
    for state, count in status["messages"].items():
        child(messages, state.capitalize(), count)  # queued: <Queued>
    child(messages, "Received", status["received"])
    gateways = child(root, "Gateways", Count=len(status["gateways"]))
    for number, gateway in enumerate(status["gateways"], start=1):
        entry = child(gateways, "Gateway", Name=gateway["name"], Id=number,
                      Active=_flag(gateway["state"] not in ("stopped", "closed")),
                      Available=_flag(gateway["in_service"]), SendEnabled=_flag(not gateway["paused"]),
                      ReceiveEnabled=_flag(gateway["receives"]))
        _diafaan_statistics(entry, gateway["state"], gateway)
        child(entry, "Name", gateway["name"])
        child(entry, "State", gateway["state"])
        child(entry, "Detail", gateway["detail"])
        child(entry, "InService", gateway["in_service"])
        child(entry, "Paused", gateway["paused"])
        child(entry, "Sent", gateway["sent"])
        child(entry, "Failed", gateway["failed"])
        child(entry, "Received", gateway["received"])
        child(entry, "SendLimitDay", gateway["send_limit_day"])
        child(entry, "SendLimitMonth", gateway["send_limit_month"])
        child(entry, "SendRatePerMinute", gateway["send_rate_per_minute"])
        credit = gateway.get("credit")
        if credit is not None:  # <Credit Currency="GBP" Time="20261122101530">12.34</Credit>, or empty until read
            attributes = {"Currency": credit["currency"], "Error": credit["error"]}
            if credit["at"] is not None:
                attributes["Time"] = local_time(credit["at"])
            child(entry, "Credit", credit["amount"], **{k: v for k, v in attributes.items() if v})
        for name, value in gateway["properties"].items():
            child(entry, "Property", value, Name=name)
    connectors = child(root, "Connectors", Count=len(status["connectors"]))
    for number, connector in enumerate(status["connectors"], start=1):
        sends = any(a["use"] in ("send-receive", "send") for a in connector["gateways"])
        receives = any(a["use"] in ("send-receive", "receive") for a in connector["gateways"])
        entry = child(connectors, "Connector", Name=connector["name"], Id=number,
                      Active=_flag(connector["running"]), Available=_flag(connector["running"]),
                      SendEnabled=_flag(sends), ReceiveEnabled=_flag(receives))
        _diafaan_statistics(entry, "running" if connector["running"] else "stopped", connector)
        child(entry, "Name", connector["name"])
        child(entry, "Type", connector["type"])
        child(entry, "MaxSendAttempts", connector["max_send_attempts"])
        for assignment in connector["gateways"]:
            child(entry, "Gateway", assignment["name"], Use=assignment["use"], Role=assignment["role"])
    return document(root)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _diafaan_statistics(entry: Element, status: str, counts: dict) -> None:
    """The children monitoring checks written for Diafaan read, by these names and in this
    place (``.//Statistics/MessagesInSendQueue``); the appliance's own detail follows them."""
    child(entry, "Status", status)
    statistics = child(entry, "Statistics")
    child(statistics, "SentMessages", counts["sent"])
    child(statistics, "FailedMessages", counts["failed"])
    child(statistics, "MessagesInSendQueue", counts["in_send_queue"])
