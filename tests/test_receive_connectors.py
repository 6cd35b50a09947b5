"""Receive connectors: settings, tokens and the HTTP endpoint other systems post SMS to."""

import hashlib
import io
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from appliance.accounts.authenticator import Authenticator
from appliance.connectors import receive as receive_connectors
from appliance.connectors.stop_words import StopWords
from appliance.store.inbox import Inbox
from appliance.store.models import BlockedNumber, InboundMessage, ReceiveConnector, WebhookDelivery
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.receive import ReceiveContext

KINDS = {"HTTP API": "http", "Hook": "webhook", "Other hook": "webhook"}


@pytest.fixture
def store(database):
    return database


# -- settings ------------------------------------------------------------------------------

def test_a_new_connector_gets_a_token_kept_only_as_its_hash(store):
    connector, token = receive_connectors.set_connector("provider", KINDS, number="+44 7700 900000")
    assert token and len(token) >= 40
    assert (connector.name, connector.number) == ("provider", "+447700900000")
    row = ReceiveConnector.get(ReceiveConnector.name == "provider")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row.__data__)
    assert (row.number, row.routing, row.target, row.require_token) == ("+447700900000", "inbox", "HTTP API", True)
    assert receive_connectors.token_matches(row, token)
    assert not receive_connectors.token_matches(row, token[:-1])
    assert not receive_connectors.token_matches(row, None)


def test_changing_settings_keeps_the_token_unless_asked(store):
    _, token = receive_connectors.set_connector("provider", KINDS)
    _, again = receive_connectors.set_connector("provider", KINDS, subject="Support")
    assert again is None
    assert receive_connectors.token_matches(receive_connectors.get("provider"), token)
    _, renewed = receive_connectors.set_connector("provider", KINDS, generate_token=True)
    row = receive_connectors.get("provider")
    assert renewed and not receive_connectors.token_matches(row, token)
    assert receive_connectors.token_matches(row, renewed)
    _, none = receive_connectors.set_connector("provider", KINDS, require_token=False)
    row = receive_connectors.get("provider")
    assert none is None and not row.require_token and row.token_hash == ""
    assert receive_connectors.token_matches(row, None)


@pytest.mark.parametrize("settings, words", [
    ({"routing": "email"}, "routing: 'email' is not one of inbox, webhook"),
    ({"target": "Nope"}, "target: no connector named 'Nope' is configured (there are: HTTP API, Hook, Other hook)"),
    ({"target": "Hook"}, "connector 'Hook' is of type 'webhook'; routing 'inbox' needs a connector of type 'http'"),
    ({"routing": "webhook"}, "routing 'webhook' needs --target"),
    ({"routing": "webhook", "target": "HTTP API"}, "needs a connector of type 'webhook'"),
    ({"number": "call me"}, "number: 'call me' is not a phone number"),
    ({"subject": "x" * 201}, "subject: longer than 200"),
    ({"require_token": False, "generate_token": True}, "choose one"),
])
def test_bad_settings_are_refused_and_change_nothing(store, settings, words):
    with pytest.raises(ValueError) as caught:
        receive_connectors.set_connector("provider", KINDS, **settings)
    assert words in str(caught.value)
    assert ReceiveConnector.select().count() == 0


def test_names_must_fit_in_a_url(store):
    with pytest.raises(ValueError, match="name must be"):
        receive_connectors.set_connector("a/b", KINDS)


def test_list_and_remove(store):
    receive_connectors.set_connector("b", KINDS)
    receive_connectors.set_connector("a", KINDS, routing="webhook", target="Hook")
    assert [c.name for c in receive_connectors.list_all()] == ["a", "b"]
    receive_connectors.remove("a")
    with pytest.raises(receive_connectors.UnknownConnector, match="no receive connector named 'a'"):
        receive_connectors.remove("a")
    assert [c.name for c in receive_connectors.list_all()] == ["b"]


# -- the endpoint --------------------------------------------------------------------------

class Poster:
    def __init__(self, app):
        self.app = app

    def post(self, name, fields=None, *, json_body=None, token=None, query="", raw=None, content_type=None):
        if json_body is not None:
            body, kind = json.dumps(json_body).encode(), "application/json"
        elif raw is not None:
            body, kind = raw, content_type
        else:
            body, kind = urlencode(fields or {}).encode(), "application/x-www-form-urlencoded"
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": f"/receive/{name}", "QUERY_STRING": query,
                   "CONTENT_TYPE": content_type or kind, "CONTENT_LENGTH": str(len(body)),
                   "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "192.0.2.1", "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
                   "wsgi.input": io.BytesIO(body)}
        if token is not None:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), {k.lower(): v for k, v in headers}

        text = b"".join(self.app(environ, start_response)).decode()
        assert answer["headers"]["content-type"].startswith("application/json")
        return answer["status"], json.loads(text), answer["headers"]


@pytest.fixture
def api(store):
    stored = []
    http = HttpApiContext(queue=None, authenticator=Authenticator(), connector="HTTP API",
                          gateway_names=lambda: (), on_accepted=lambda: None, inbox=None,
                          server_status=dict)
    receiving = ReceiveContext(store, connectors=lambda: KINDS, on_stored=lambda: stored.append(1))
    app = create_app(http, receiving=receiving)
    return Poster(app), stored


def test_a_posted_sms_lands_in_the_target_connectors_inbox(store, api):
    poster, stored = api
    _, token = receive_connectors.set_connector("provider", KINDS, number="+447700900000")
    status, body, _ = poster.post("provider", {"from": "+447700900123", "message": "Hello",
                                               "sent": "2026-11-22T10:15:00+01:00"}, token=token)
    assert status == 201 and body["duplicate"] is False
    (message,) = Inbox(store).received("HTTP API")
    assert (message.id, message.gateway, message.originator, message.recipient, message.text, message.sent_at) == (
        body["id"], "provider", "+447700900123", "+447700900000", "Hello",
        datetime(2026, 11, 22, 9, 15, tzinfo=UTC).timestamp())
    assert message.message_type == "sms.text"
    assert stored == [1]
    assert WebhookDelivery.select().count() == 0


def test_json_with_the_token_as_a_parameter(store, api):
    poster, _ = api
    _, token = receive_connectors.set_connector("provider", KINDS)
    status, body, _ = poster.post("provider", json_body={"from": "Bank", "to": "+447700900001",
                                                         "message": "Ω café", "token": token})
    assert status == 201
    message = InboundMessage.get_by_id(body["id"])
    assert (message.originator, message.recipient, message.text, message.message_type) == (
        "Bank", "+447700900001", "Ω café", "sms.text")
    status, body, _ = poster.post("provider", {"from": "Bank", "message": "日本"}, query=f"token={token}")
    assert status == 201 and InboundMessage.get_by_id(body["id"]).message_type == "sms.unicode"


@pytest.mark.parametrize("token", [None, "", "wrong", "Basic abc"])
def test_without_the_right_token_the_answer_is_401_and_nothing_is_stored(store, api, token):
    poster, stored = api
    receive_connectors.set_connector("provider", KINDS)
    status, body, headers = poster.post("provider", {"from": "+447700900123", "message": "Hi"}, token=token)
    assert status == 401 and "needs its token" in body["error"]
    assert headers["www-authenticate"].startswith("Bearer")
    status, _, _ = poster.post("provider", {"from": "+447700900123", "message": "Hi", "token": "wrong"})
    assert status == 401
    status, _, _ = poster.post("provider", raw=b"{not json", content_type="application/json")
    assert status == 401  # a broken body without a token is still a missing token
    assert InboundMessage.select().count() == 0 and stored == []


def test_a_connector_without_token_takes_posts_from_anyone(store, api):
    poster, _ = api
    receive_connectors.set_connector("open", KINDS, require_token=False)
    assert poster.post("open", {"from": "+447700900123", "message": "Hi"})[0] == 201


def test_an_unknown_connector_is_404(store, api):
    poster, _ = api
    status, body, _ = poster.post("nobody", {"from": "+447700900123", "message": "Hi"})
    assert status == 404 and body["error"] == "no receive connector named 'nobody'"


def test_a_repeat_with_the_same_message_id_stores_nothing_new(store, api):
    poster, stored = api
    _, token = receive_connectors.set_connector("provider", KINDS, routing="webhook", target="Hook")
    fields = {"from": "+447700900123", "message": "Hi", "message-id": "abc-1"}
    first = poster.post("provider", fields, token=token)
    again = poster.post("provider", fields, token=token)
    assert (first[0], again[0]) == (201, 200)
    assert first[1]["id"] == again[1]["id"] and again[1]["duplicate"] is True
    assert InboundMessage.select().count() == 1
    assert WebhookDelivery.select().count() == 1 and stored == [1]
    status, body, _ = poster.post("provider", fields | {"message": "Other"}, token=token)
    assert status == 409 and "'abc-1' is already used by another message" in body["error"]
    # the same id on another connector is another message
    _, other = receive_connectors.set_connector("second", KINDS)
    assert poster.post("second", fields, token=other)[0] == 201


def test_webhook_routing_stores_and_hands_the_message_to_the_webhook(store, api):
    poster, stored = api
    _, token = receive_connectors.set_connector("provider", KINDS, routing="webhook", target="Other hook",
                                                subject="Support")
    status, body, _ = poster.post("provider", {"from": "+447700900123", "message": "Hi"}, token=token)
    assert status == 201 and stored == [1]
    assert [m.id for m in Inbox(store).received("Other hook")] == [body["id"]]
    (delivery,) = WebhookDelivery.select()
    event = json.loads(delivery.payload)
    assert (delivery.connector, delivery.event) == ("Other hook", "sms-received")
    assert (event["id"], event["from"], event["text"], event["gateway"], event["receive_connector"],
            event["subject"]) == (body["id"], "+447700900123", "Hi", "provider", "provider", "Support")


def test_markup_in_the_text_is_stored_verbatim(store, api):
    poster, _ = api
    _, token = receive_connectors.set_connector("provider", KINDS)
    text = "<script>alert('x')</script> & <![CDATA[ ]]> \"quoted\" &amp;"
    status, body, _ = poster.post("provider", {"from": "+447700900123", "message": text}, token=token)
    assert status == 201 and InboundMessage.get_by_id(body["id"]).text == text


@pytest.mark.parametrize("fields, words", [
    ({"message": "Hi"}, "from: is missing or empty"),
    ({"from": "+447700900123"}, "message: is missing"),
    ({"from": "x" * 33, "message": "Hi"}, "from: must be at most 32 printable characters"),
    ({"from": "+447700900123", "to": "nobody", "message": "Hi"}, "to: 'nobody' is not a phone number"),
    ({"from": "+447700900123", "message": "Hi", "sent": "yesterday"}, "sent: 'yesterday' is not an ISO 8601"),
    ({"from": "+447700900123", "message": "Hi", "message-id": "a b"}, "message-id: use 1 to 64"),
])
def test_bad_fields_are_400_and_store_nothing(store, api, fields, words):
    poster, stored = api
    _, token = receive_connectors.set_connector("provider", KINDS)
    status, body, _ = poster.post("provider", fields, token=token)
    assert status == 400 and words in body["error"]
    assert InboundMessage.select().count() == 0 and stored == []


@pytest.mark.parametrize("raw, words", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be an object"),
    (b'{"from": 447700900123, "message": "Hi"}', "from: must be a string, not int"),
    (b'{"from": "+447700900123", "message": "\\ud800"}', "lone surrogate"),
])
def test_bad_json_is_400(store, api, raw, words):
    poster, _ = api
    _, token = receive_connectors.set_connector("provider", KINDS)
    status, body, _ = poster.post("provider", raw=raw, content_type="application/json", token=token)
    assert status == 400 and words in body["error"]
    assert InboundMessage.select().count() == 0


def test_a_field_given_twice_is_400(store, api):
    poster, _ = api
    _, token = receive_connectors.set_connector("provider", KINDS)
    status, body, _ = poster.post("provider", raw=b"from=1&from=2&message=Hi",
                                  content_type="application/x-www-form-urlencoded", token=token)
    assert status == 400 and body["error"] == "from: is given 2 times"


def test_a_target_no_longer_configured_is_503_and_stores_nothing(store):
    _, token = receive_connectors.set_connector("provider", KINDS, routing="webhook", target="Hook")
    http = HttpApiContext(queue=None, authenticator=Authenticator(), connector="HTTP API",
                          gateway_names=lambda: (), on_accepted=lambda: None, inbox=None,
                          server_status=dict)
    poster = Poster(create_app(http, receiving=ReceiveContext(store, connectors=lambda: {"HTTP API": "http"},
                                                    on_stored=lambda: None)))
    status, body, _ = poster.post("provider", {"from": "+447700900123", "message": "Hi"}, token=token)
    assert status == 503 and "no connector named 'Hook'" in body["error"]
    assert InboundMessage.select().count() == 0


def test_a_stop_word_posted_by_another_system_blocks_its_sender(store):
    """SMS that other systems received come in here: a STOP among them blocks its sender as
    one the modems received does, in the transaction that stores it."""
    stop_words = StopWords(["STOP"], queue=Queue(store), connector="HTTP API")
    http = HttpApiContext(queue=None, authenticator=Authenticator(), connector="HTTP API",
                          gateway_names=lambda: (), on_accepted=lambda: None, inbox=None, server_status=dict)
    receiving = ReceiveContext(store, connectors=lambda: KINDS, on_stored=lambda: None, on_new=stop_words.received)
    poster = Poster(create_app(http, receiving=receiving))
    _, token = receive_connectors.set_connector("provider", KINDS)
    for message_id, status_wanted in (("a1", 201), ("a1", 200)):  # a retry of a lost answer: blocked once
        status, _, _ = poster.post("provider", {"from": "+447700900123", "message": " stop ",
                                                "message-id": message_id}, token=token)
        assert status == status_wanted
    status, _, _ = poster.post("provider", {"from": "+447700900124", "message": "Stop it"}, token=token)
    assert status == 201
    (entry,) = BlockedNumber.select()
    assert (entry.number, entry.source) == ("+447700900123", "stop word")
