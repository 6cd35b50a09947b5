"""The Diafaan-compatible /http API against a real store, called as a WSGI app."""

import io
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.messages import contacts
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.guard import Guard

PASSWORD = "correct horse"


class Client:
    def __init__(self, app):
        self.app = app

    def call(self, command, params, method="GET", raw_query=None, content_type="application/x-www-form-urlencoded"):
        body = b""
        query = raw_query if raw_query is not None else urlencode(params)
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": f"/http/{command}",
            "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
        }
        if method == "POST":
            body = query.encode()
            environ.update(CONTENT_TYPE=content_type, CONTENT_LENGTH=str(len(body)),
                           QUERY_STRING="")
        else:
            environ["QUERY_STRING"] = query
        environ["wsgi.input"] = io.BytesIO(body)
        status = {}

        def start_response(line, headers, exc_info=None):
            status["line"], status["headers"] = line, dict(headers)

        text = b"".join(self.app(environ, start_response)).decode()
        assert status["line"].startswith("200"), status["line"]
        assert status["headers"]["Content-Type"].startswith("text/plain")
        assert not text.endswith("\n"), text  # no line break after the last line
        return text.split("\r\n")


@pytest.fixture
def env(tmp_path):
    database = store_db.open_database(tmp_path)
    users.set_user("alice", PASSWORD)
    users.set_user("root", PASSWORD, admin=True)
    users.set_user("bob", PASSWORD)
    kicks = []
    context = HttpApiContext(queue=Queue(database), authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: ("GSM Modem Gateway", "Backup"),
                             on_accepted=lambda: kicks.append(1), inbox=Inbox(database),
                             server_status=dict)
    app = create_app(context)
    app.config["context"] = context
    yield Client(app), kicks
    database.close()


def send(client, method="GET", **params):
    base = {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "Hello"}
    base.update({k.replace("_", "-"): v for k, v in params.items()})
    return client.call("send-message", {k: v for k, v in base.items() if v is not None}, method)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_send_message_commits_before_ok_and_wakes_the_router(env, method):
    client, kicks = env
    (line,) = send(client, method)
    assert line.startswith("OK: ")
    message = OutboundMessage.get_by_id(line[4:])
    assert (message.recipient, message.text, message.state) == ("+447700900123", "Hello", MessageState.QUEUED)
    assert kicks == [1]


def test_every_parameter_is_stored(env):
    client, _ = env
    (line,) = send(client, **{"from": "Clinic", "message_type": "sms.unicode", "message_guid": "abc-1",
                              "message_info": "ref 42", "gateway": "Backup;Nope", "priority": "7",
                              "validity_period": "3600", "scheduled": "2030-12-31T19:35:00.0000000-07:00"})
    assert line == "OK: abc-1"
    m = OutboundMessage.get(OutboundMessage.message_guid == "abc-1")
    assert (m.sender, m.message_type, m.message_guid, m.message_info, m.gateways, m.priority,
            m.validity_period) == ("Clinic", "sms.unicode", "abc-1", "ref 42", "Backup", 7, 3600)
    assert m.scheduled_at == datetime(2031, 1, 1, 2, 35, tzinfo=UTC).timestamp()


def test_one_ok_line_per_recipient_in_order(env):
    client, _ = env
    lines = send(client, to="+441;+442 ; 0044 (3)")
    assert len(lines) == 3 and all(line.startswith("OK: ") for line in lines)
    # 00 is the international prefix, written as +
    assert [OutboundMessage.get_by_id(line[4:]).recipient for line in lines] == ["+441", "+442", "+443"]


def test_utf8_text_arrives_intact_by_get_and_post(env):
    client, _ = env
    for method in ("GET", "POST"):
        (line,) = send(client, method, message="Grüße € 😀")
        assert OutboundMessage.get_by_id(line[4:]).text == "Grüße € 😀"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_field_that_is_not_utf8_is_refused_by_name_and_stores_nothing(env, method):
    client, kicks = env
    query = urlencode({"username": "alice", "password": PASSWORD, "to": "+447700900123"}) + "&message=Gr%FC%DFe"
    (line,) = client.call("send-message", {}, method, raw_query=query)  # latin-1, not UTF-8
    assert line == ("ERROR:306 Unknown command or insufficient parameters: message is not UTF-8: "
                    "percent-encode the UTF-8 bytes of the text")
    assert OutboundMessage.select().count() == 0 and kicks == []


def test_a_multipart_form_is_read_too(env):
    client, _ = env
    boundary = "b0undary"
    parts = {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "Grüße"}
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in parts.items()) + f"--{boundary}--\r\n"
    (line,) = client.call("send-message", {}, "POST", raw_query=body,
                          content_type=f"multipart/form-data; boundary={boundary}")
    assert OutboundMessage.get_by_id(line[4:]).text == "Grüße"


def test_a_form_body_of_ten_thousand_recipients_is_read_whole_where_max_form_allows_it(env):
    client, _ = env
    numbers = ";".join(f"+4477009{n:05d}" for n in range(10_000))  # about 180 KB encoded
    # the default [http] max_form (64 KiB) refuses it: such lists belong to /api/v1
    lines = send(Client(create_app(client.app.config["context"], guard=Guard(max_form=1 << 20))), "POST", to=numbers)
    assert len(lines) == 10_000 and all(line.startswith("OK: ") for line in lines)


def test_repeating_a_request_with_its_message_guid_sends_nothing_twice(env):
    client, _ = env
    assert send(client, message_guid="once") == ["OK: once"]
    assert send(client, message_guid="once") == ["OK: once"]
    assert OutboundMessage.select().count() == 1
    (line,) = send(client, message_guid="once", message="something else")
    assert line.startswith("ERROR:311 Message rejected: message-guid")


@pytest.mark.parametrize("params, expected", [
    ({"username": None, "password": None}, "ERROR:303 Guest login not available"),
    ({"username": "mallory"}, "ERROR:304 Authentication error"),
    ({"password": "wrong password"}, "ERROR:304 Authentication error"),
    ({"to": None}, "ERROR:301 No recipients found: to is missing"),
    ({"to": " ; "}, "ERROR:301 No recipients found"),
    ({"contact_name": "Dr Who", "to": None}, "ERROR:301 No recipients found: contact-name"),
    ({"message": ""}, "ERROR:311 Message rejected: message is empty"),
    ({"message": None}, "ERROR:311 Message rejected: message is empty"),
    ({"to": "+441;12ab"}, "ERROR:311 Message rejected: to: '12ab' is not a phone number"),
    ({"to": "+" + "1" * 21}, "ERROR:311 Message rejected: to: "),
    ({"message_type": "sms.fax"}, "ERROR:311 Message rejected: message-type: 'sms.fax'"),
    ({"priority": "high"}, "ERROR:311 Message rejected: priority: 'high' is not a whole number"),
    ({"validity_period": "0"}, "ERROR:311 Message rejected: validity-period: 0 is not between"),
    ({"scheduled": "tomorrow"}, "ERROR:311 Message rejected: scheduled: 'tomorrow'"),
    ({"message_guid": "a b"}, "ERROR:311 Message rejected: message-guid"),
    ({"message_type": "sms.text", "message": "Привет"}, "ERROR:311 Message rejected: message: "),
    ({"message": "x" * 153 * 256}, "ERROR:311 Message rejected: message: 256 SMS parts"),
])
def test_bad_input_gets_its_error_line_and_stores_nothing(env, params, expected):
    client, kicks = env
    (line,) = send(client, **params)
    assert line.startswith(expected), line
    assert OutboundMessage.select().count() == 0
    assert kicks == []


def test_two_to_fields_are_refused(env):
    client, _ = env
    query = urlencode({"username": "alice", "password": PASSWORD, "message": "x"}) + "&to=%2B441&to=%2B442"
    assert client.call("send-message", {}, raw_query=query) == [
        "ERROR:302 Multiple to fields detected: to is given 2 times"]
    assert OutboundMessage.select().count() == 0


def test_unknown_command(env):
    client, _ = env
    assert client.call("send-fax", {}) == [
        "ERROR:306 Unknown command or insufficient parameters: unknown command 'send-fax'"]


def status(client, message_id, info=None, user="alice"):
    params = {"username": user, "password": PASSWORD, "message-id": message_id}
    if info:
        params["info"] = info
    return client.call("request-status-update", params)


def test_status_follows_the_message_through_its_states(env):
    client, _ = env
    (line,) = send(client)
    message_id = line[4:]
    assert status(client, message_id) == ["STATUS:100 Queued"]
    assert status(client, message_id, "gateway") == ["GATEWAY:"]
    assert status(client, message_id, "error-code") == ["ERROR-CODE:0 No error"]
    queue = Queue(OutboundMessage._meta.database)
    queue.claim("GSM Modem Gateway")
    assert status(client, message_id) == ["STATUS:102 Sending"]
    queue.retry(message_id, time.time() + 60, 42, "congestion")
    assert status(client, message_id) == ["STATUS:103 Waiting to retry"]
    assert status(client, message_id, "error-code") == ["ERROR-CODE:42 congestion"]
    OutboundMessage.update(retry_at=None).execute()
    queue.claim("GSM Modem Gateway")
    queue.complete(message_id)
    assert status(client, message_id) == ["STATUS:200 Success"]
    assert status(client, message_id, "gateway") == ["GATEWAY:GSM Modem Gateway"]


def test_scheduled_message_reports_scheduled(env):
    client, _ = env
    (line,) = send(client, scheduled="2999-01-01T00:00:00Z")
    assert status(client, line[4:]) == ["STATUS:101 Scheduled"]


def test_status_errors(env):
    client, _ = env
    (line,) = send(client)
    message_id = line[4:]
    assert status(client, "no-such-id") == ["ERROR:309 Message id not found: no-such-id"]
    assert status(client, message_id, user="bob") == [f"ERROR:309 Message id not found: {message_id}"]
    assert status(client, message_id, user="root") == ["STATUS:100 Queued"]  # admins see all
    assert status(client, "") == ["ERROR:306 Unknown command or insufficient parameters: message-id is missing"]
    assert status(client, message_id, "colour")[0].startswith("ERROR:306")
    assert client.call("request-status-update", {"message-id": message_id}) == [
        "ERROR:303 Guest login not available: give username and password"]


def test_a_fault_of_ours_answers_error_300_and_stores_nothing(env, monkeypatch):
    client, _ = env
    monkeypatch.setattr(Queue, "accept", lambda self, messages: 1 / 0)
    assert send(client) == ["ERROR:300 Unknown error: see the appliance's log"]
    assert OutboundMessage.select().count() == 0


def test_contact_names_address_contacts_and_groups_after_the_to_numbers_in_order(env):
    client, _ = env
    contacts.set_contact("alice", "Dr Who", "+44 7700 900001")
    contacts.set_contact("alice", "Nurse", "+447700900002")
    contacts.set_contact("alice", "Porter", "+447700900003")
    contacts.set_group("alice", "On call", ["Porter", "Nurse"])
    contacts.set_contact("bob", "Bobs friend", "+447700900009")
    lines = send(client, to="+441", contact_name="Dr Who;On call")
    messages = [OutboundMessage.get_by_id(line[4:]) for line in lines]
    assert [(m.recipient, m.contact_name) for m in messages] == [
        ("+441", ""), ("+447700900001", "Dr Who"), ("+447700900003", "On call"), ("+447700900002", "On call")]
    (line,) = send(client, to=None, contact_name="Bobs friend")  # another user's contact is unknown here
    assert line == "ERROR:301 No recipients found: contact-name: no contact or group named 'Bobs friend'"
    assert OutboundMessage.select().count() == 4
