"""request-received-messages: the HTTP API connector's inbox as Diafaan's MessageList XML."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from diafaan_api import CONNECTOR, Api, time_zone

from appliance import pdu
from appliance.store import db as store_db
from appliance.store.models import InboundMessage

SENT = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
SMSC = "+447785016005"
FIELDS = ["From", "To", "MessageText", "MessageType", "MessageId", "MessagePart", "ReceivedMessageParts",
          "TotalMessageParts", "SendTime", "ReceiveTime", "Gateway", "ReceiveDateTime", "SMSC", "PDU", "IsRemoved"]


@pytest.fixture
def api(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    routes = {"GSM Modem Gateway": [CONNECTOR], "Helpdesk Modem": ["Helpdesk"]}
    yield Api(database, receivers=routes.__getitem__, clock=clock)
    database.close()


@pytest.fixture
def india():
    """The appliance's local time is UTC+05:30, so local and UTC times differ visibly."""
    with time_zone("IST-5:30"):
        yield


def receive(api, clock, text, number="+447700900123", gateway="GSM Modem Gateway", **options):
    clock.now += 1
    (message_id,) = [i for part in pdu.encode_deliver(number, text, smsc=SMSC, timestamp=SENT, **options)
                     for i in api.inbox.store(gateway, part.pdu)]
    return message_id


def listing(api, method="GET", user="alice", **params):
    reply = api.call("request-received-messages", params, method, user=user)
    assert reply.content_type == "text/xml; charset=utf-8", reply.text
    root = ET.fromstring(reply.text.encode("utf-8"))  # bytes: the declaration names the encoding
    assert root.tag == "MessageList"
    assert root.get("Count") == str(len(root))
    return root


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_received_message_comes_with_every_field_in_local_time(api, clock, india, method):
    message_id = receive(api, clock, "Pump 3 stopped", "+447700900123")
    (message,) = listing(api, method)
    assert [element.tag for element in message] == FIELDS
    values = {element.tag: element.text for element in message}
    assert values == {
        "From": "+447700900123", "To": None, "MessageText": "Pump 3 stopped", "MessageType": "sms.text",
        "MessageId": message_id, "MessagePart": "-1", "ReceivedMessageParts": "1", "TotalMessageParts": "1",
        "SendTime": "20261122154530",                      # 10:15:30 UTC at +05:30
        "ReceiveTime": "20270115133001",                    # clock.now, 08:00:01 UTC
        "Gateway": "GSM Modem Gateway", "ReceiveDateTime": "2027-01-15 13:30:01", "SMSC": SMSC,
        "PDU": InboundMessage.get_by_id(message_id).pdu, "IsRemoved": "0",
    }


def test_a_multipart_message_is_one_entry_with_its_parts_counted(api, clock):
    text = "long " * 60
    parts = pdu.encode_deliver("+447700900123", text, smsc=SMSC, timestamp=SENT, concat_reference=7)
    assert len(parts) == 2
    for part in parts:
        api.inbox.store("GSM Modem Gateway", part.pdu)
    (message,) = listing(api)
    assert (message.findtext("MessageText"), message.findtext("MessagePart"),
            message.findtext("ReceivedMessageParts"), message.findtext("TotalMessageParts")) == (text, "-1", "2", "2")
    assert message.findtext("PDU") == " ".join(part.pdu for part in parts)


def test_sms_text_with_markup_comes_back_escaped_and_the_xml_parses(api, clock):
    text = "<script>alert(1)</script> & \"x\" 'y'"
    receive(api, clock, text)
    reply = api.call("request-received-messages")
    assert "<script>" not in reply.text
    assert ("<MessageText>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &apos;y&apos;</MessageText>"
            in reply.text)
    (message,) = ET.fromstring(reply.text.encode("utf-8"))
    assert message.findtext("MessageText") == text


def test_characters_xml_cannot_carry_become_replacement_characters_and_line_ends_survive(api, clock):
    receive(api, clock, "a\x01b\x1bc\x7f\tz\r\nq\x00", encoding="ucs2")
    reply = api.call("request-received-messages")
    (message,) = ET.fromstring(reply.text.encode("utf-8"))
    # DEL (U+007F) is allowed in XML 1.0 and stays; CR is written as &#13; so it is not lost
    assert message.findtext("MessageText") == "a\ufffdb\ufffdc\x7f\tz\r\nq\ufffd"


def test_an_undecodable_sms_is_listed_with_the_reason_and_its_pdu_in_the_text(api):
    (message_id,) = api.inbox.store("GSM Modem Gateway", "0791447758100650040c91")
    (message,) = listing(api)
    text = message.findtext("MessageText")
    assert text.startswith("[undecodable SMS: ") and text.endswith("] 0791447758100650040C91")
    assert (message.findtext("MessageId"), message.findtext("PDU"), message.findtext("From"),
            message.findtext("SendTime")) == (message_id, "0791447758100650040C91", "", "")


def test_an_empty_inbox_is_an_empty_list(api):
    reply = api.call("request-received-messages")
    assert reply.text == '<?xml version="1.0" encoding="UTF-8"?>\r\n<MessageList Count="0" />\r\n'


def test_limit_and_order_choose_the_messages_and_remove_takes_them_out(api, clock):
    ids = [receive(api, clock, f"message {n}") for n in range(4)]
    assert [m.findtext("MessageId") for m in listing(api)] == ids
    assert [m.findtext("MessageId") for m in listing(api, order="newest", limit="3")] == ids[:0:-1]
    assert [m.findtext("MessageId") for m in listing(api, order="oldest", limit="2")] == ids[:2]
    taken = listing(api, method="POST", limit="2", remove="1")
    assert [(m.findtext("MessageId"), m.findtext("IsRemoved")) for m in taken] == [(ids[0], "1"), (ids[1], "1")]
    assert [m.findtext("MessageId") for m in listing(api, remove="0")] == ids[2:]
    assert [m.findtext("MessageId") for m in listing(api, user="bob")] == ids[2:]  # one inbox for the connector


def test_only_the_http_api_connectors_messages_are_listed(api, clock):
    mine = receive(api, clock, "for the HTTP API")
    receive(api, clock, "for the helpdesk", gateway="Helpdesk Modem")
    assert [m.findtext("MessageId") for m in listing(api)] == [mine]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query, detail", [
    ("remove=1&limit=0", "limit: '0' is not a whole number from 1 to 1000000"),
    ("remove=1&limit=-1", "limit: '-1' is not a whole number"),
    ("remove=1&limit=ten", "limit: 'ten' is not a whole number"),
    ("remove=1&limit=1000001", "limit: '1000001' is not a whole number"),
    ("remove=1&limit=" + "9" * 5000, "limit: '999"),
    ("remove=1&limit=1&limit=2", "limit is given 2 times"),
    ("remove=yes", "remove: 'yes' is not one of 0, 1"),
    ("remove=1&remove=1", "remove is given 2 times"),
    ("remove=1&order=new", "order: 'new' is not one of oldest, newest"),
])
def test_a_bad_parameter_is_named_and_removes_nothing(api, clock, method, query, detail):
    message_id = receive(api, clock, "keep me")
    reply = api.call("request-received-messages", method=method,
                     raw_query=f"username=alice&password=correct+horse&{query}")
    assert reply.content_type.startswith("text/plain")
    assert reply.lines[0].startswith(f"ERROR:306 Unknown command or insufficient parameters: {detail}")
    assert [m.findtext("MessageId") for m in listing(api)] == [message_id]


def test_a_wrong_password_reads_nothing(api, clock):
    receive(api, clock, "private")
    reply = api.call("request-received-messages", {"password": "wrong password"}, user="alice")
    assert reply.lines == [
        "ERROR:304 Authentication error: unknown user or wrong password, or too many failed attempts"]
