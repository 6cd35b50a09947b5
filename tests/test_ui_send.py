"""The send-a-test-SMS page and a message's own page, without a browser: a send queues
through the APIs' path, refusals name the field and queue nothing, the count is the
codec's, and a message's page shows only one's own messages, escaped."""

from __future__ import annotations

import json
import re

import pytest
from test_ui import XSS, Browser, site  # noqa: F401  site: the fixture

from appliance import pdu
from appliance.store import message_ids
from appliance.store.models import MessagePart, MessageState, OutboundMessage, User
from appliance.store.queue import NewMessage, Queue
from appliance.web.ui import send

MESSAGE_LINK = re.compile(r"^/messages/([^/]+)$")


def _logged_in(site, name: str = "alice") -> Browser:  # noqa: F811
    browser = Browser(site)
    browser.login(name)
    return browser


def _send(browser: Browser, **fields: str) -> object:
    return browser.post("/send", {"csrf": browser.csrf("/send"), **fields})


def test_a_send_queues_one_message_and_goes_to_its_page(site):  # noqa: F811
    browser = _logged_in(site)
    answer = _send(browser, number="+447700900123", text="hello from the form", gateway="GSM1")
    assert answer.status == 303
    link = MESSAGE_LINK.match(answer.headers["Location"])
    assert link, answer.headers["Location"]
    (message,) = OutboundMessage.select()
    assert (message.recipient, message.text, message.gateways, message.user_id, message.state) == (
        "+447700900123", "hello from the form", "GSM1", User.get(User.name == "alice").id, MessageState.QUEUED)
    assert message_ids.public_id(message.id) == link.group(1)
    page = browser.get(answer.headers["Location"])
    assert page.status == 200 and "hello from the form" in page.text and "Queued" in page.text


def test_any_gateway_leaves_the_choice_to_the_router(site):  # noqa: F811
    browser = _logged_in(site)
    assert _send(browser, number="+447700900123", text="hi", gateway="").status == 303
    assert OutboundMessage.get().gateways == ""


@pytest.mark.parametrize(("fields", "named"), [
    ({"number": "not a number", "text": "hi"}, "number"),
    ({"number": "", "text": "hi"}, "number"),
    ({"number": "+447700900123", "text": "  "}, "text"),
    ({"number": "+447700900123", "text": "hi", "gateway": "GSM9"}, "gateway"),
    ({"number": "+447700900123", "text": "x" * (send.MAX_TEXT + 1)}, "text"),
])
def test_a_wrong_field_is_named_and_nothing_is_queued(site, fields, named):  # noqa: F811
    browser = _logged_in(site)
    answer = _send(browser, **fields)
    assert answer.status == 422
    error = re.search(r'<p class="error" role="alert" id="send-error" data-for="([^"]*)">([^<]*)</p>', answer.text)
    assert error, answer.text
    assert error.group(1) == named and error.group(2).startswith(f"{named}")
    assert OutboundMessage.select().count() == 0


def test_a_send_without_the_csrf_token_is_refused_and_queues_nothing(site):  # noqa: F811
    browser = _logged_in(site)
    answer = browser.post("/send", {"number": "+447700900123", "text": "hello"})
    assert answer.status == 403
    other = _logged_in(site, "root")
    assert browser.post("/send", {"csrf": other.csrf(), "number": "+447700900123", "text": "hi"}).status == 403
    assert OutboundMessage.select().count() == 0


def _count(browser: Browser, text: str, **extra: str):
    return browser.post("/ui/count.json", {"csrf": browser.csrf("/send"), "text": text, **extra})


@pytest.mark.parametrize(("text", "encoding"), [
    ("", "GSM 7-bit"), ("hello", "GSM 7-bit"), ("a" * 161, "GSM 7-bit"), ("price: 5€ {ok}", "GSM 7-bit"),
    ("привет", "UCS-2"), ("日本語" * 30, "UCS-2"),
])
def test_the_count_is_the_codecs(site, text, encoding):  # noqa: F811
    browser = _logged_in(site)
    answer = _count(browser, text)
    assert answer.status == 200
    expected = pdu.count(text)
    got = json.loads(answer.text)
    assert (got["parts"], got["left"], got["encoding"]) == (expected.parts, expected.remaining, encoding)
    page = browser.post("/send", {"csrf": browser.csrf("/send"), "number": "bad", "text": text}).text
    assert f'<span id="parts">{expected.parts}</span>' in page
    assert f'<span id="left">{expected.remaining}</span>' in page


def test_the_count_refuses_an_oversize_text_a_stranger_and_a_missing_token(site):  # noqa: F811
    browser = _logged_in(site)
    too_long = _count(browser, "x" * (send.MAX_TEXT + 1))
    assert too_long.status == 413 and json.loads(too_long.text)["field"] == "text"
    assert browser.post("/ui/count.json", {"text": "hi"}).status == 403
    assert Browser(site).post("/ui/count.json", {"text": "hi"}).status == 401
    token = browser.csrf("/send")
    User.update(must_change_password=True).where(User.name == "alice").execute()
    assert browser.post("/ui/count.json", {"csrf": token, "text": "hi"}).status == 401


def _stored(name: str, text: str) -> str:
    (message_id,) = Queue(OutboundMessage._meta.database).accept(
        [NewMessage("+447700900123", text, user_id=User.get(User.name == name).id)])
    return message_ids.public_id(message_id)


def test_another_users_message_is_not_found_and_an_administrator_sees_it(site):  # noqa: F811
    mine = _stored("root", "root own text")
    alice = _logged_in(site)
    assert alice.get(f"/messages/{mine}").status == 404
    assert alice.get(f"/ui/messages/{mine}.json").status == 404
    root = _logged_in(site, "root")
    assert "root own text" in root.get(f"/messages/{mine}").text
    theirs = _stored("alice", "alice own text")
    assert "alice own text" in root.get(f"/messages/{theirs}").text
    assert Browser(site).get(f"/ui/messages/{theirs}.json").status == 401


@pytest.mark.parametrize("payload", XSS)
def test_a_messages_text_is_shown_escaped(site, payload):  # noqa: F811
    message_id = _stored("alice", payload)
    page = _logged_in(site).get(f"/messages/{message_id}").text
    assert payload not in page
    assert payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page


def test_a_message_page_shows_its_parts_reports_and_error_in_words(site):  # noqa: F811
    message_id = _stored("alice", "two parts " * 20)
    message = OutboundMessage.get()
    first = MessagePart.create(message=message.id, sequence=1, pdu="00", tpdu_length=1, state="delivered",
                               reference=42, gateway="GSM1", sent_at=message.created_at, status=0,
                               reported_at=message.created_at)
    MessagePart.create(message=message.id, sequence=2, pdu="00", tpdu_length=1, state="sent", reference=43,
                       gateway="GSM1", sent_at=message.created_at)
    (OutboundMessage.update(first_part=first.id, parts_total=2, state=MessageState.FAILED, error_code=1,
                            error_text="", gateway="GSM1").execute())
    browser = _logged_in(site)
    page = browser.get(f"/messages/{message_id}").text
    assert "error 1: unassigned (unallocated) number" in page
    view = json.loads(browser.get(f"/ui/messages/{message_id}.json").text)
    assert view["state"] == "Failed" and view["settled"] is True
    assert [(p["reference"], p["state"]) for p in view["parts"]] == [("42", "delivered"), ("43", "sent")]
    assert view["parts"][1]["report"] == "no report yet" and view["parts"][0]["report"] in page


def test_each_row_of_the_sent_list_links_to_its_page(site):  # noqa: F811
    message_id = _stored("alice", "linked")
    assert f'href="/messages/{message_id}"' in _logged_in(site).get("/messages").text


def test_the_pages_script_is_the_appliances_and_writes_text_only(site):  # noqa: F811
    browser = _logged_in(site)
    script = browser.get("/ui/static/send.js")
    assert (script.status, script.headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert "textContent" in script.text and "innerHTML" not in script.text
    for page in ("/send", f"/messages/{_stored('alice', 'hi')}"):
        assert re.findall(r"<script[^>]*>", browser.get(page).text) == [
            '<script src="/ui/static/ui.js" defer>', '<script src="/ui/static/send.js" defer>']
