"""/api/v1/messages: sending, reading, listing, cancelling, delivery reports."""

import time

import pytest

from appliance.messages import contacts
from appliance.store.models import MessagePart, MessageState, OutboundMessage


def test_one_message_is_committed_before_201_and_wakes_the_router(env):
    reply = env.client().post("/messages", {"to": ["+44 7700 900123"], "message": "Hello"})
    assert reply.status == 201
    (accepted,) = reply.data["messages"]
    assert accepted["recipient"] == "+447700900123" and accepted["contact_name"] == ""
    stored = OutboundMessage.get_by_id(accepted["id"])
    assert (stored.text, stored.state, stored.connector) == ("Hello", MessageState.QUEUED, "HTTP API")
    assert env.kicks == [1]


def test_every_field_is_stored(env):
    reply = env.client().post("/messages", {
        "to": ["+441"], "message": "Hi", "message_type": "sms.unicode", "from": "Clinic", "guid": "abc-1",
        "info": "ref 42", "gateways": ["Backup", "Nope"], "priority": 7, "validity_period": 3600,
        "scheduled": "2030-12-31T19:35:00-07:00"})
    assert reply.status == 201 and reply.data["messages"][0]["id"] == "abc-1"
    m = OutboundMessage.get(OutboundMessage.message_guid == "abc-1")
    assert (m.sender, m.message_type, m.message_guid, m.message_info, m.gateways, m.priority,
            m.validity_period) == ("Clinic", "sms.unicode", "abc-1", "ref 42", "Backup", 7, 3600)
    message = env.client().get("/messages/abc-1").data
    assert message["scheduled"] == "2031-01-01T02:35:00.000Z"
    assert message["status"] == {"code": 101, "text": "Scheduled"}
    assert message["gateways"] == ["Backup"] and message["parts"] == []


def test_a_batch_to_ten_thousand_recipients_is_one_request_in_order(env):
    numbers = [f"+4477009{n:05d}" for n in range(10_000)]
    reply = env.client().post("/messages", {"to": numbers, "message": "Storm warning", "guid": "storm"})
    assert reply.status == 201
    assert [m["recipient"] for m in reply.data["messages"]] == numbers
    assert reply.data["messages"][0]["id"] == "storm-1"
    assert OutboundMessage.select().count() == 10_000
    too_many = env.client().post("/messages", {"to": [*numbers, "+441"], "message": "x"})
    assert too_many.status == 422 and too_many.error["field"] == "to"
    assert OutboundMessage.select().count() == 10_000


def test_contact_names_address_the_callers_contacts_and_groups(env):
    contacts.set_contact("alice", "Dr Who", "+447700900001")
    contacts.set_contact("alice", "Nurse", "+447700900002")
    contacts.set_group("alice", "On call", ["Nurse", "Dr Who"])
    reply = env.client().post("/messages", {"to": ["+441"], "contact_names": ["On call"], "message": "x"})
    assert [(m["recipient"], m["contact_name"]) for m in reply.data["messages"]] == [
        ("+441", ""), ("+447700900002", "On call"), ("+447700900001", "On call")]
    reply = env.client("bob").post("/messages", {"contact_names": ["Dr Who"], "message": "x"})
    assert reply.status == 422
    assert reply.error == {"code": "no_recipients", "field": "contact_names",
                           "message": "contact_names: no contact or group named 'Dr Who'"}


def test_repeating_a_request_with_its_guid_sends_nothing_twice(env):
    body = {"to": ["+441"], "message": "once", "guid": "g1"}
    assert env.client().post("/messages", body).status == 201
    again = env.client().post("/messages", body)
    assert again.status == 200 and again.data["messages"][0]["id"] == "g1"
    other = env.client().post("/messages", {**body, "message": "something else"})
    assert other.status == 409 and other.error["code"] == "guid_taken" and other.error["field"] == "guid"
    assert OutboundMessage.select().count() == 1 and env.kicks == [1]


@pytest.mark.parametrize("body, status, code, field", [
    ({"message": "x"}, 422, "no_recipients", "to"),
    ({"to": ["+441"]}, 422, "missing_field", "message"),
    ({"to": ["+441"], "message": " "}, 422, "message_rejected", "message"),
    ({"to": "+441", "message": "x"}, 422, "invalid_value", "to"),
    ({"to": ["12ab"], "message": "x"}, 422, "message_rejected", "to"),
    ({"to": ["+441"], "message": "x", "priority": "7"}, 422, "invalid_value", "priority"),
    ({"to": ["+441"], "message": "x", "priority": True}, 422, "invalid_value", "priority"),
    ({"to": ["+441"], "message": "x", "priority": 10**30}, 422, "message_rejected", "priority"),
    ({"to": ["+441"], "message": "x", "validity_period": 0}, 422, "message_rejected", "validity_period"),
    ({"to": ["+441"], "message": "x", "scheduled": "tomorrow"}, 422, "message_rejected", "scheduled"),
    ({"to": ["+441"], "message": "x", "message_type": "sms.fax"}, 422, "message_rejected", "message_type"),
    ({"to": ["+441"], "message": "Привет", "message_type": "sms.text"}, 422, "message_rejected", "message"),
    ({"to": ["+441"], "message": "x", "guid": "a b"}, 422, "message_rejected", "guid"),
    ({"to": ["+441"], "message": "x", "from": "y" * 21}, 422, "message_rejected", "from"),
    ({"to": ["+441"], "message": "x", "colour": "red"}, 400, "unknown_field", "colour"),
    (["+441"], 400, "malformed_body", None),
])
def test_bad_requests_are_refused_naming_the_field_and_store_nothing(env, body, status, code, field):
    reply = env.client().post("/messages", body)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (status, code, field), reply.data
    assert reply.error["message"]
    assert OutboundMessage.select().count() == 0 and env.kicks == []


def test_status_and_parts_follow_the_message(env):
    message_id = env.client().post("/messages", {"to": ["+441"], "message": "x"}).data["messages"][0]["id"]
    env.queue.claim("GSM Modem Gateway")
    env.queue.parts(message_id, lambda: [("00AA", 5)])
    (part,) = MessagePart.select()
    env.queue.part_sent(part.id, 17, "GSM Modem Gateway")
    env.queue.complete(message_id)
    MessagePart.update(status=0, reported_at=time.time()).execute()
    message = env.client().get(f"/messages/{message_id}").data
    assert message["status"] == {"code": 200, "text": "Success"} and message["gateway"] == "GSM Modem Gateway"
    assert message["parts"][0]["reference"] == 17 and message["parts"][0]["tp_status"] == 0
    (report,) = env.client().get(f"/messages/{message_id}/reports").data["parts"]
    assert (report["tp_status"], report["tp_status_text"], report["outcome"]) == (
        0, "received by the recipient", "delivered")
    assert report["reported_at"].endswith("Z")


def test_other_users_messages_are_absent_and_admins_see_all(env):
    message_id = env.client().post("/messages", {"to": ["+441"], "message": "x"}).data["messages"][0]["id"]
    for path in (f"/messages/{message_id}", f"/messages/{message_id}/reports"):
        assert env.client("bob").get(path).status == 404
        assert env.client("root").get(path).status == 200
    assert env.client("bob").delete(f"/messages/{message_id}").status == 404
    assert env.client("bob").get("/messages").data["messages"] == []
    assert len(env.client("root").get("/messages").data["messages"]) == 1


def test_cancel_a_queued_message_and_409_once_it_is_not(env):
    first, second = [env.client().post("/messages", {"to": ["+441"], "message": text}).data["messages"][0]["id"]
                     for text in ("a", "b")]
    reply = env.client().delete(f"/messages/{first}")
    assert reply.status == 200 and reply.data["state"] == "removed"
    assert reply.data["status"] == {"code": 302, "text": "Removed"}
    env.queue.claim("GSM Modem Gateway")
    reply = env.client().delete(f"/messages/{second}")
    assert reply.status == 409 and reply.error["code"] == "not_queued"
    assert OutboundMessage.get_by_id(second).state == MessageState.SENDING


def test_list_filters_and_pages_by_cursor_or_offset(env, monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(env.queue, "clock", lambda: now[0])
    ids = []
    for n in range(5):
        now[0] += 60
        ids.append(env.client().post("/messages", {"to": [f"+44{n}"], "message": "x"}).data["messages"][0]["id"])
    env.queue.remove(ids[0])
    client = env.client()
    newest_first = list(reversed(ids))
    page = client.get("/messages", query={"limit": 2}).data
    assert [m["id"] for m in page["messages"]] == newest_first[:2]
    rest = client.get("/messages", query={"limit": 10, "cursor": page["next_cursor"]}).data
    assert [m["id"] for m in rest["messages"]] == newest_first[2:] and rest["next_cursor"] is None
    assert [m["id"] for m in client.get("/messages", query={"offset": 3}).data["messages"]] == newest_first[3:]
    assert [m["id"] for m in client.get("/messages", query={"state": "removed"}).data["messages"]] == [ids[0]]
    assert [m["id"] for m in client.get("/messages", query={"recipient": "+44 2"}).data["messages"]] == [ids[2]]
    window = client.get("/messages", query={"since": "2027-01-15T08:02:00Z", "until": "2027-01-15T08:04:00Z"})
    assert [m["id"] for m in window.data["messages"]] == [ids[2], ids[1]]
    for query, field in [({"limit": 0}, "limit"), ({"state": "lost"}, "state"), ({"since": "soon"}, "since"),
                         ({"cursor": "nonsense!"}, "cursor"), ({"recipient": "abc"}, "recipient")]:
        reply = client.get("/messages", query=query)
        assert (reply.status, reply.error["field"]) == (422, field), query
    reply = client.get("/messages", query={"cursor": page["next_cursor"], "offset": 1})
    assert reply.status == 400 and reply.error["code"] == "conflicting_parameters"
    reply = client.get("/messages", query={"state": "\xff".encode("latin-1")})
    assert reply.status == 400 and reply.error["code"] == "malformed_query"
    reply = client.get("/messages", query={"colour": "red"})
    assert reply.status == 400 and reply.error == {
        "code": "unknown_parameter", "field": "colour",
        "message": "'colour' is not a parameter of this request "
                   "(there are: state, since, until, recipient, limit, cursor, offset)"}


def test_the_states_the_api_declares_are_the_stored_ones():
    from appliance.control import server_status
    from appliance.web.api_v1 import messages
    assert messages.STATES == server_status.STATES
    assert set(messages.STATES) == {value for name, value in vars(MessageState).items() if name.isupper()
                                    and isinstance(value, str)}


@pytest.mark.parametrize("number", [2**64, -2**63 - 1, 2**20000], ids=["2**64", "-2**63-1", "2**20000"])
def test_a_cbor_bignum_is_refused_as_json_refuses_a_number_out_of_range(env, number):
    reply = env.client().call("POST", "/messages", cbor_body={"to": ["+447700900123"], "message": "Hi",
                                                              "priority": number})
    assert reply.status == 400
    assert reply.error["code"] == "malformed_body" and "bits is out of range" in reply.error["message"]
    assert OutboundMessage.select().count() == 0
