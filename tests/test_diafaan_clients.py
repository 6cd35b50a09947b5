"""The /http API as clients written against a real Diafaan SMS Server use it.

Each test does what such a client does, not what the manual says: the PHP sample's
"the text after the last line feed", a URL with a trailing slash, XPath into the server
status, positions of children in a received message. docs/http-api.md says which
client expects what.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from diafaan_api import ALICE, Api

from appliance import pdu
from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.reports import Reports

SENT = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)   # the service centre's time stamp


@pytest.fixture
def api(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    yield Api(database, clock=clock)
    database.close()


def after_last_line_feed(text: str) -> str:
    """How Diafaan's PHP socket sample reads a reply: what follows the last "\\n"."""
    return text[text.rfind("\n") + 1:]


@pytest.mark.parametrize("command", ["send-message", "send-message/"])
def test_the_php_sample_reads_ok_and_the_id_with_or_without_a_trailing_slash(api, command):
    reply = api.call(command, {"to": "+447700900123", "message": "hello"})
    answer = after_last_line_feed(reply.text)
    assert answer.startswith("OK: "), reply.text
    assert OutboundMessage.get_by_id(answer.removeprefix("OK: ")).recipient == "+447700900123"


def test_a_reply_of_several_lines_has_no_line_break_after_the_last(api):
    reply = api.call("send-message/", {"to": "+447700900123;+447700900124", "message": "hello"})
    first, second = reply.text.split("\r\n")
    assert first.startswith("OK: ") and second.startswith("OK: ")
    assert after_last_line_feed(reply.text) == second


@pytest.mark.parametrize("command, params, expected", [
    ("send-message/", {"message": "hello"}, "ERROR:301 No recipients found"),
    ("request-status-update/", {"message-id": "nope"}, "ERROR:309 Message id not found"),
    ("remove-queued-message/", {"message-id": "nope"}, "ERROR:309 Message id not found"),
    ("request-received-messages/", {"limit": "ten"}, "ERROR:306 "),
    ("request-server-status/", {"password": "x"}, "ERROR:303 "),
    ("send-server-command/", {"command": "stop-gateway"}, "ERROR:307 "),
    ("no-such-command/", {}, "ERROR:306 "),
])
def test_every_command_with_a_trailing_slash_answers_one_error_line_without_a_break(api, command, params,
                                                                                      expected):
    reply = api.call(command, params, user=None if command.startswith("request-server-status") else ALICE)
    assert reply.content_type == "text/plain; charset=utf-8"
    assert after_last_line_feed(reply.text) == reply.text, reply.text  # one line, nothing after it
    assert reply.text.startswith(expected), reply.text


def test_status_with_a_trailing_slash_is_one_line_the_php_sample_reads(api):
    (line,) = api.call("send-message", {"to": "+447700900123", "message": "hello"}).lines
    reply = api.call("request-status-update/", {"message-id": line.removeprefix("OK: ")})
    assert after_last_line_feed(reply.text) == "STATUS:100 Queued"


# -- message status codes ------------------------------------------------------------------

def status_line(api, message_id: str) -> str:
    return after_last_line_feed(api.call("request-status-update", {"message-id": message_id}).text)


def sent_message(api) -> str:
    """A message a gateway has sent, its one part with network reference 7."""
    (line,) = api.call("send-message", {"to": "+447700900123", "message": "hello"}).lines
    message_id = line.removeprefix("OK: ")
    assert api.queue.claim("GSM Modem Gateway").id == message_id
    (part,) = api.queue.parts(message_id, lambda: [("00", 1)])
    assert api.queue.part_sent(part.id, 7, "GSM Modem Gateway")
    assert api.queue.complete(message_id)
    return message_id


def test_a_sent_message_is_the_whole_line_status_200_success(api):
    # a production client compares the whole line, not the code alone
    assert status_line(api, sent_message(api)) == "STATUS:200 Success"


@pytest.mark.parametrize("tp_status, expected", [(0x00, "STATUS:201 Delivered"), (0x46, "STATUS:301 Undelivered"),
                                                 (0x62, "STATUS:301 Undelivered")])
def test_a_delivery_report_gives_201_or_301(api, tp_status, expected):
    message_id = sent_message(api)
    assert Reports(api.queue).apply("GSM Modem Gateway", 7, "+447700900123", tp_status).message_id == message_id
    assert status_line(api, message_id) == expected


@pytest.mark.parametrize("state, code", [(MessageState.QUEUED, 100), (MessageState.SENDING, 102),
                                         (MessageState.EXPIRED, 303), (MessageState.REMOVED, 302)])
def test_the_appliances_own_states_are_never_read_as_sent_delivered_or_failed(api, state, code):
    (line,) = api.call("send-message", {"to": "+447700900123", "message": "hello"}).lines
    message_id = line.removeprefix("OK: ")
    OutboundMessage.update(state=state).where(OutboundMessage.id == message_id).execute()
    reply = status_line(api, message_id)
    shown = int(reply.removeprefix("STATUS:").split(" ")[0])
    assert shown == code, reply
    assert shown not in range(200, 300) and shown not in (300, 301)  # how Diafaan's clients read codes


# -- received messages, read by child position -----------------------------------------------

def test_a_plugin_reading_children_by_position_gets_sender_text_id_and_a_date(api, clock):
    """A dental-practice plugin takes ChildNodes[1] of the document (the MessageList, after
    the declaration), and of each Message child 0 as From, 2 as MessageText, 4 as
    MessageId, and parses child 11 as a date and time."""
    clock.now += 1
    (message_id,) = [i for part in pdu.encode_deliver("+6421000000", "YES", smsc="+6421600600", timestamp=SENT)
                     for i in api.inbox.store("GSM Modem Gateway", part.pdu)]
    reply = api.call("request-received-messages/", {"order": "newest", "limit": "1000"})
    declaration, rest = reply.text.split("\r\n", 1)
    assert declaration.startswith("<?xml ") and rest.startswith("<MessageList")
    (message,) = ET.fromstring(reply.text.encode())
    children = list(message)
    assert (children[0].text, children[2].text, children[4].text) == ("+6421000000", "YES", message_id)
    assert datetime.fromisoformat(children[11].text) == datetime.fromtimestamp(clock.now).replace(microsecond=0)


def test_a_client_reading_by_name_still_finds_every_element_of_the_manual(api, clock):
    clock.now += 1
    for part in pdu.encode_deliver("+6421000000", "YES", smsc="+6421600600", timestamp=SENT):
        api.inbox.store("GSM Modem Gateway", part.pdu)
    (message,) = ET.fromstring(api.call("request-received-messages").text.encode())
    assert (message.findtext("From"), message.findtext("MessageText"), message.findtext("SMSC"),
            message.findtext("ReceiveTime")) == ("+6421000000", "YES", "+6421600600",
                                                 datetime.fromtimestamp(clock.now).strftime("%Y%m%d%H%M%S"))


# -- parameters as clients send them ---------------------------------------------------------

def recipients(api, reply) -> list[str]:
    return [OutboundMessage.get_by_id(line.removeprefix("OK: ")).recipient for line in reply.lines]


def test_recipients_separated_by_commas_as_a_public_csharp_helper_sends_them(api):
    reply = api.call("send-message", {"to": "+989120000000,+93700000000", "message": "hello"})
    assert recipients(api, reply) == ["+989120000000", "+93700000000"]


def test_commas_and_semicolons_may_be_mixed(api):
    reply = api.call("send-message", {"to": "+441 , +442;+443", "message": "hello"})
    assert recipients(api, reply) == ["+441", "+442", "+443"]


def test_empty_parameters_are_parameters_not_given(api):
    """A client that fills a form from optional settings sends every field, empty or not."""
    empty = dict.fromkeys(("gateway", "from", "message-type", "message-guid", "message-info", "priority",
                           "validity-period", "scheduled", "contact-name"), "")
    reply = api.call("send-message", {"to": "+447700900123", "message": "hello", **empty})
    (line,) = reply.lines
    assert line.startswith("OK: "), line
    message = OutboundMessage.get_by_id(line.removeprefix("OK: "))
    assert (message.gateways, message.message_type, message.validity_period, message.scheduled_at) == (
        "", "sms.automatic", None, None)
    assert after_last_line_feed(api.call("request-status-update", {"message-id": message.id, "info": ""}
                                         ).text) == "STATUS:100 Queued"


def test_a_query_that_starts_with_an_ampersand_parses(api, clock):
    """The dental-practice plugin asks for request-received-messages?&order=newest&..."""
    for text in ("first", "second"):
        clock.now += 1
        for part in pdu.encode_deliver("+6421000000", text, smsc="+6421600600", timestamp=SENT):
            api.inbox.store("GSM Modem Gateway", part.pdu)
    reply = api.call("request-received-messages", raw_query="&order=newest&username=alice&password=correct+horse"
                                                            "&limit=1000")
    assert [m.findtext("MessageText") for m in ET.fromstring(reply.text.encode())] == ["second", "first"]
