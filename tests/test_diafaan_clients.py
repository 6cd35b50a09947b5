"""The /http API as clients written against a real Diafaan SMS Server use it.

Each test does what such a client does, not what the manual says: the PHP sample's
"the text after the last line feed", a URL with a trailing slash, XPath into the server
status, positions of children in a received message. docs/http-api.md says which
client expects what.
"""

from __future__ import annotations

import pytest
from diafaan_api import ALICE, Api

from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.reports import Reports


@pytest.fixture
def api(tmp_path):
    database = store_db.open_database(tmp_path)
    yield Api(database)
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
