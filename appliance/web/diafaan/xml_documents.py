"""The XML documents of the /http API: Diafaan's MessageList of received messages, and the
ServerStatus of request-server-status. Formats are documented in docs/http-api.md; a
client parses them by element name, so names, once published, stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element

from ...store.models import InboundMessage
from .xml_reply import XmlReply, child, document, local_time

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
    for gateway in status["gateways"]:
        entry = child(gateways, "Gateway")
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
        for name, value in gateway["properties"].items():
            child(entry, "Property", value, Name=name)
    connectors = child(root, "Connectors", Count=len(status["connectors"]))
    for connector in status["connectors"]:
        entry = child(connectors, "Connector")
        child(entry, "Name", connector["name"])
        child(entry, "Type", connector["type"])
        child(entry, "MaxSendAttempts", connector["max_send_attempts"])
        for assignment in connector["gateways"]:
            child(entry, "Gateway", assignment["name"], Use=assignment["use"], Role=assignment["role"])
    return document(root)
