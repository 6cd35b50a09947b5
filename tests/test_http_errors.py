"""Every Diafaan error code the commands produce, reached by GET and by POST: one text line,
``ERROR:<code> <text>: <detail>``, and nothing changed."""

import io
from dataclasses import replace

import pytest
from diafaan_api import PASSWORD, Api

from appliance.accounts.authenticator import Authenticator
from appliance.store import db as store_db
from appliance.store.models import InboundMessage, MessageState, OutboundMessage
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

CREDENTIALS = f"username=alice&password={PASSWORD.replace(' ', '+')}"


@pytest.fixture
def api(tmp_path):
    database = store_db.open_database(tmp_path)
    api = Api(database)
    (line,) = api.call("send-message", {"to": "+442", "message": "sent"}).lines
    api.sent = line[4:]
    assert api.queue.claim("GSM Modem Gateway").id == api.sent
    api.queue.complete(api.sent)
    (line,) = api.call("send-message", {"to": "+441", "message": "queued"}).lines
    api.queued = line[4:]
    yield api
    database.close()


def unchanged(api):
    return (OutboundMessage.select().count(), OutboundMessage.get_by_id(api.queued).state,
            OutboundMessage.get_by_id(api.sent).state, InboundMessage.select().count())


CASES = [
    # 301 No recipients found
    ("send-message", "message=hi", "ERROR:301 No recipients found: to is missing or empty"),
    ("send-message", "message=hi&contact-name=Nobody", "ERROR:301 No recipients found: contact-name: "),
    # 302 Multiple to fields detected
    ("send-message", "message=hi&to=%2B441&to=%2B442", "ERROR:302 Multiple to fields detected: to is given 2 times"),
    # 306 Unknown command or insufficient parameters
    ("send-fax", "", "ERROR:306 Unknown command or insufficient parameters: unknown command 'send-fax'"),
    ("request-status-update", "", "ERROR:306 Unknown command or insufficient parameters: message-id is missing"),
    ("request-status-update", "message-id={sent}&info=colour", "ERROR:306 Unknown command or insufficient "
                                                                "parameters: info: 'colour'"),
    ("request-status-update", "message-id={sent}&message-id={sent}", "ERROR:306 Unknown command or insufficient "
                                                                     "parameters: message-id is given 2 times"),
    ("remove-queued-message", "", "ERROR:306 Unknown command or insufficient parameters: message-id is missing"),
    ("remove-queued-message", "message-id={queued}&message-id={queued}", "ERROR:306 Unknown command or "
                                                                         "insufficient parameters: message-id is "
                                                                         "given 2 times"),
    ("request-received-messages", "limit=many", "ERROR:306 Unknown command or insufficient parameters: limit: "),
    ("request-received-messages", "order=newest&order=oldest", "ERROR:306 Unknown command or insufficient "
                                                               "parameters: order is given 2 times"),
    ("request-server-status", "password=x", "ERROR:306 Unknown command or insufficient parameters: password is "
                                            "given 2 times"),
    # 307 Operation not allowed
    ("remove-queued-message", "message-id={sent}", "ERROR:307 Operation not allowed: message {sent} is no longer "
                                                   "queued: its status is 200 Success"),
    # 309 Message id not found
    ("request-status-update", "message-id=nope", "ERROR:309 Message id not found: nope"),
    ("remove-queued-message", "message-id=nope", "ERROR:309 Message id not found: nope"),
    # 311 Message rejected
    ("send-message", "to=%2B441&message=", "ERROR:311 Message rejected: message is empty"),
    ("send-message", "to=%2B441&message=a&message=b", "ERROR:311 Message rejected: message is given 2 times"),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("command, query, expected", CASES)
def test_each_error_code_is_reached_and_changes_nothing(api, method, command, query, expected):
    before = unchanged(api)
    query = query.format(queued=api.queued, sent=api.sent)
    reply = api.call(command, method=method, raw_query=f"{CREDENTIALS}&{query}".rstrip("&"))
    assert reply.content_type == "text/plain; charset=utf-8"
    assert "\n" not in reply.text and "\r" not in reply.text, reply.text  # one line, no break after it
    assert reply.lines[0].startswith(expected.format(queued=api.queued, sent=api.sent)), reply.lines
    assert unchanged(api) == before


def test_another_users_message_is_not_found(api):
    reply = api.call("remove-queued-message", {"message-id": api.queued}, user="bob")
    assert reply.lines == [f"ERROR:309 Message id not found: {api.queued}"]
    assert OutboundMessage.get_by_id(api.queued).state == MessageState.QUEUED


def boom(*args, **kwargs):
    raise RuntimeError("the disk is on fire")


class BrokenInbox:
    received = staticmethod(boom)


class BrokenQueue:
    """Finds messages, fails to change them."""

    def __init__(self, api):
        self.get = api.queue.get

    remove = staticmethod(boom)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("command, params, break_it", [
    ("request-server-status", {}, lambda api: replace(api.context, server_status=boom)),
    ("request-received-messages", {"remove": "1"}, lambda api: replace(api.context, inbox=BrokenInbox())),
    ("remove-queued-message", {"message-id": "{queued}"}, lambda api: replace(api.context, queue=BrokenQueue(api))),
])
def test_a_fault_inside_a_command_is_one_error_300_line(api, caplog, method, command, params, break_it):
    api.context = break_it(api)
    params = {name: value.format(queued=api.queued) for name, value in params.items()}
    reply = api.call(command, params, method)
    assert reply.content_type == "text/plain; charset=utf-8"
    assert reply.text == "ERROR:300 Unknown error: see the appliance's log"
    assert "the disk is on fire" in caplog.text  # the cause is in the log, not in the reply
    assert OutboundMessage.get_by_id(api.queued).state == MessageState.QUEUED


@pytest.mark.parametrize("method, path", [
    ("GET", "/nothing/<script>alert(1)</script>"),
    ("DELETE", "/http/send-message"),
    ("GET", "/http/a/<b>"),
])
def test_errors_outside_the_apis_are_plain_text_without_markup(method, path):
    app = create_app(HttpApiContext(queue=None, authenticator=Authenticator(), connector="HTTP API",
                                    gateway_names=lambda: (), on_accepted=lambda: None, inbox=None,
                                    server_status=dict))
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "test",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
    answer = {}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answer.update(
        status=status, headers=dict(headers))))
    assert answer["status"][:3] in ("404", "405")
    assert answer["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert b"<" not in body and body.decode().startswith(answer["status"][:3])
