"""The send checks both APIs share: one error type, the field named as each API calls it."""

import bottle
import pytest

from appliance.accounts import users
from appliance.accounts.users import Principal
from appliance.messages import contacts
from appliance.store import db as store_db
from appliance.store.models import OutboundMessage
from appliance.store.queue import Queue
from appliance.web import submission
from appliance.web.diafaan.commands import (
    ApiError,
    HttpApiContext,
    remove_queued_message,
    request_status_update,
    send_message,
)
from appliance.web.submission import HTTP_NAMES, JSON_NAMES, Fields, GuidTaken, SubmissionError

GATEWAYS = ("GSM1", "GSM2")


@pytest.fixture
def alice(tmp_path):
    database = store_db.open_database(tmp_path)
    user = users.set_user("alice", "long enough")
    yield Principal(user.id, "alice", False)
    database.close()


def build(principal, names=JSON_NAMES, **fields):
    return submission.build(Fields(**fields), principal, names=names, known_gateways=GATEWAYS, connector="API")


def test_a_request_becomes_one_message_per_recipient(alice):
    contacts.set_contact("alice", "Dr Who", "+447700900001")
    messages = build(alice, to=["+44 7700 900123"], contact_names=["Dr Who"], message="Hi", sender="Clinic",
                     guid="g", info="ref", gateways=["GSM2", "Nope", "GSM2"], priority="5", validity_period=60,
                     scheduled="2030-01-01T00:00:00Z")
    assert [(m.recipient, m.contact_name, m.id) for m in messages] == [
        ("+447700900123", "", "1/g-1"), ("+447700900001", "Dr Who", "1/g-2")]
    first = messages[0]
    assert (first.text, first.sender, first.message_type, first.gateways, first.priority, first.validity_period,
            first.user_id, first.connector) == ("Hi", "Clinic", "sms.automatic", "GSM2", 5, 60, alice.id, "API")


@pytest.mark.parametrize("fields, code, http_field, json_field", [
    ({}, 301, "to", "to"),
    ({"to": ["+441"], "message": ""}, 311, "message", "message"),
    ({"to": ["+441"], "message": "x", "message_type": "sms.fax"}, 311, "message-type", "message_type"),
    ({"to": ["+441"], "message": "x", "guid": "a b"}, 311, "message-guid", "guid"),
    ({"to": ["+441"], "message": "x", "validity_period": "0"}, 311, "validity-period", "validity_period"),
    ({"to": ["+441"], "message": "x", "priority": True}, 311, "priority", "priority"),
    ({"to": ["+441"], "message": "x", "scheduled": "10000-01-01T00:00:00"}, 311, "scheduled", "scheduled"),
    ({"contact_names": ["Nobody"], "message": "x"}, 301, "contact-name", "contact_names"),
])
def test_each_refusal_names_the_field_as_the_callers_api_does(alice, fields, code, http_field, json_field):
    for names, field in ((HTTP_NAMES, http_field), (JSON_NAMES, json_field)):
        with pytest.raises(SubmissionError) as raised:
            build(alice, names=names, **fields)
        assert (raised.value.code, raised.value.field) == (code, field)
        assert field in raised.value.text


def test_an_external_caller_cannot_use_contact_names(alice):
    partner = Principal(None, "partner", False, external=True)
    with pytest.raises(SubmissionError) as raised:
        build(partner, names=HTTP_NAMES, contact_names=["Dr Who"], message="x")
    assert (raised.value.code, raised.value.field) == (312, "contact-name")
    assert "contacts belong to local users" in raised.value.text
    assert build(partner, to=["+441"], message="x")[0].user_id is None


class External:
    """An authenticator that lets every caller in as vouched for by the authentication callback."""

    def authenticate(self, name, password, *, address=None):
        return Principal(None, name, False, external=True)


def external_callers_api() -> HttpApiContext:
    return HttpApiContext(queue=Queue(OutboundMessage._meta.database), authenticator=External(),
                          connector="HTTP API", gateway_names=lambda: GATEWAYS, on_accepted=lambda: None,
                          inbox=None, server_status=dict)


def test_the_http_api_answers_an_external_callers_contact_names_with_error_312(alice):
    context = external_callers_api()
    params = bottle.FormsDict({"username": "partner", "password": "x", "contact-name": "Dr Who", "message": "x"})
    with pytest.raises(ApiError) as raised:
        send_message(context, params)
    assert raised.value.line() == ("ERROR:312 Web application user not found: contact-name: contacts belong "
                                   "to local users, and partner is not one")
    assert OutboundMessage.select().count() == 0


def test_an_external_caller_cannot_read_or_remove_messages_over_the_http_api(alice):
    # no account keeps such callers' messages apart: one could read every other one's
    context = external_callers_api()
    (line,) = send_message(context, bottle.FormsDict({"username": "partner", "password": "x", "to": "+441",
                                                      "message": "x"})).split("\r\n")
    message_id = line.removeprefix("OK: ")
    for command in (request_status_update, remove_queued_message):
        with pytest.raises(ApiError) as raised:
            command(context, bottle.FormsDict({"username": "other", "password": "x", "message-id": message_id}))
        assert raised.value.code == 310
    assert OutboundMessage.get_by_id(message_id).state == "queued"


def test_commit_is_idempotent_by_guid_and_refuses_a_different_message_under_it(alice):
    queue = Queue(OutboundMessage._meta.database)
    messages = build(alice, to=["+441", "+442"], message="x", guid="once")
    assert submission.commit(queue, messages, names=JSON_NAMES) == (["once-1", "once-2"], True)
    assert submission.commit(queue, messages, names=JSON_NAMES) == (["once-1", "once-2"], False)
    with pytest.raises(GuidTaken) as raised:
        submission.commit(queue, build(alice, to=["+441", "+442"], message="y", guid="once"), names=HTTP_NAMES)
    assert raised.value.field == "message-guid"
    assert OutboundMessage.select().count() == 2
