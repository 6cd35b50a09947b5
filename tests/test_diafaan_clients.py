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
from appliance.store.models import OutboundMessage


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
