"""/api/v1 contacts, groups, users, API keys and received messages."""

from datetime import UTC, datetime

import pytest
from api_v1_client import PASSWORD, Client, basic

from appliance import pdu
from appliance.accounts import users
from appliance.messages import contacts
from appliance.store.models import ApiKey, Contact, ContactGroup, GroupMember, InboundMessage, User
from appliance.store.queue import Queue
from appliance.store.reports import Reports


def deliver(text: str) -> str:
    (part,) = pdu.encode_deliver("+447770009001", text, timestamp=datetime(2026, 11, 22, tzinfo=UTC))
    return part.pdu


def test_contacts_crud_of_the_caller_only(env):
    alice, bob = env.client("alice"), env.client("bob")
    created = alice.post("/contacts", {"name": "Dr Who", "number": "+44 7700 900001"})
    assert created.status == 201 and created.data["number"] == "+447700900001"
    contact_id = created.data["id"]
    assert alice.get("/contacts").data == {"contacts": [created.data]}
    assert bob.get("/contacts").data == {"contacts": []}
    assert bob.get(f"/contacts/{contact_id}").status == 404
    assert bob.put(f"/contacts/{contact_id}", {"name": "X", "number": "+1"}).status == 404
    changed = alice.put(f"/contacts/{contact_id}", {"name": "The Doctor", "number": "+447700900002"})
    assert changed.status == 200 and alice.get(f"/contacts/{contact_id}").data["name"] == "The Doctor"
    assert alice.post("/contacts", {"name": "Nurse", "number": "+1"}).status == 201
    taken = alice.put(f"/contacts/{contact_id}", {"name": "Nurse", "number": "+1"})
    assert taken.status == 409 and taken.error["code"] == "name_taken"
    assert Contact.get_by_id(contact_id).name == "The Doctor"
    assert alice.delete(f"/contacts/{contact_id}").status == 204
    assert alice.get(f"/contacts/{contact_id}").status == 404
    assert alice.get("/contacts/abc").status == 404 and alice.get(f"/contacts/{2**70}").status == 404


@pytest.mark.parametrize("body, field", [
    ({"name": "A;B", "number": "+1"}, "name"), ({"name": " ", "number": "+1"}, "name"),
    ({"name": "A", "number": "12ab"}, "number"), ({"number": "+1"}, "name"), ({"name": "A"}, "number"),
    ({"name": "A", "number": 1}, "number"),
])
def test_bad_contacts_are_refused(env, body, field):
    reply = env.client().post("/contacts", body)
    assert (reply.status, reply.error["field"]) == (422, field)
    assert Contact.select().count() == 0


def test_groups_keep_their_members_in_order(env):
    alice = env.client()
    for name, number in (("Nurse", "+441"), ("Porter", "+442")):
        alice.post("/contacts", {"name": name, "number": number})
    group = alice.post("/groups", {"name": "On call", "members": ["Porter", "Nurse"]})
    assert group.status == 201 and group.data["members"] == ["Porter", "Nurse"]
    group_id = group.data["id"]
    unknown = alice.put(f"/groups/{group_id}", {"name": "On call", "members": ["Nurse", "Ghost"]})
    assert unknown.status == 422 and unknown.error["field"] == "members"
    assert alice.get(f"/groups/{group_id}").data["members"] == ["Porter", "Nurse"]
    changed = alice.put(f"/groups/{group_id}", {"name": "Nights", "members": ["Nurse"]})
    assert changed.data == {"id": group_id, "name": "Nights", "members": ["Nurse"]}
    assert alice.post("/groups", {"name": "Nights"}).status == 409
    assert env.client("bob").get(f"/groups/{group_id}").status == 404
    assert alice.delete(f"/groups/{group_id}").status == 204
    assert ContactGroup.select().count() == 0 and GroupMember.select().count() == 0
    assert Contact.select().count() == 2


def test_users_are_for_administrators(env):
    assert env.client("alice").get("/users").status == 403
    assert env.client("alice").post("/users", {"name": "carol", "password": PASSWORD}).status == 403
    root = env.client("root")
    assert [u["name"] for u in root.get("/users").data["users"]] == ["alice", "bob", "root"]
    created = root.post("/users", {"name": "carol", "password": "long enough"})
    assert created.status == 201 and created.data["is_admin"] is False
    assert root.post("/users", {"name": "carol", "password": "long enough"}).status == 409
    assert root.post("/users", {"name": "d e", "password": "long enough"}).error["field"] == "name"
    assert root.post("/users", {"name": "dave", "password": "short"}).error["field"] == "password"
    assert root.patch("/users/carol", {"is_admin": True, "password": "new password"}).data["is_admin"] is True
    assert users.authenticate("carol", "new password").is_admin
    assert Client(env.app, basic("carol", "new password")).get("/users").status == 200
    assert root.delete("/users/carol").status == 204
    assert root.get("/users/carol").status == 404
    assert User.select().where(User.name == "carol").count() == 0


def test_the_last_administrator_and_ones_own_account_stay(env):
    root = env.client("root")
    demote = root.patch("/users/root", {"is_admin": False})
    assert demote.status == 409 and demote.error["code"] == "last_admin"
    assert root.delete("/users/root").error["code"] == "own_account"
    assert User.get(User.name == "root").is_admin


def test_api_keys_show_their_token_once_and_list_without_it(env):
    alice = env.client()
    created = alice.post("/keys", {"name": "nagios"})
    assert created.status == 201 and created.data["token"].startswith("sk_")
    assert created.data["user"] == "alice" and created.data["prefix"] == created.data["token"][:11]
    assert Client(env.app, "Bearer " + created.data["token"]).get("/status").status == 200
    listed = alice.get("/keys").data["keys"]
    assert [k["name"] for k in listed] == ["tests", "nagios"] and all("token" not in k for k in listed)
    assert created.data["token"] not in str(list(ApiKey.select().dicts()))
    # alice cannot see or touch bob's keys; root can
    assert alice.get("/keys", query={"user": "bob"}).status == 403
    assert alice.post("/keys", {"user": "bob"}).status == 403
    bobs = env.client("root").get("/keys", query={"user": "bob"}).data["keys"]
    assert alice.delete(f"/keys/{bobs[0]['id']}").status == 404
    assert len(env.client("root").get("/keys").data["keys"]) == 4
    made = env.client("root").post("/keys", {"user": "bob", "name": "for bob"})
    assert made.status == 201 and made.data["user"] == "bob"
    assert env.client("root").delete(f"/keys/{made.data['id']}").status == 204
    assert env.client("root").post("/keys", {"user": "nobody"}).status == 404
    assert alice.post("/keys", {"name": "bad\nname"}).error["field"] == "name"


def test_received_messages_list_in_order_and_can_be_taken_out(env):
    first = env.inbox.store("GSM Modem Gateway", deliver("Hello"))[0]
    env.inbox.clock = lambda: 2_000_000_000.0
    second = env.inbox.store("GSM Modem Gateway", deliver("Again"))[0]
    alice = env.client()
    listed = alice.get("/received").data["messages"]
    assert [m["id"] for m in listed] == [first, second]
    assert listed[0]["from"] == "+447770009001" and listed[0]["message"] == "Hello"
    assert [m["id"] for m in alice.get("/received", query={"order": "newest", "limit": 1}).data["messages"]] == [second]
    assert alice.get(f"/received/{first}").data["id"] == first
    assert alice.get("/received", query={"remove": "true"}).error["field"] == "remove"  # a GET changes nothing
    assert not InboundMessage.get_by_id(first).removed
    taken = alice.call("POST", "/received/take", query={"limit": 1}).data["messages"]
    assert [m["id"] for m in taken] == [first]
    assert InboundMessage.get_by_id(first).removed
    assert alice.get(f"/received/{first}").status == 404
    assert [m["id"] for m in alice.get("/received").data["messages"]] == [second]
    assert alice.get("/received", query={"order": "sideways"}).error["field"] == "order"


def test_an_undecodable_message_is_listed_as_such_with_its_pdu(env):
    (message_id,) = env.inbox.store("GSM Modem Gateway", "00FFEE")
    (listed,) = env.client().get("/received").data["messages"]
    assert (listed["id"], listed["undecodable"], listed["pdu"]) == (message_id, True, "00FFEE")
    assert listed["message"].startswith("[undecodable SMS: ") and listed["message"].endswith("] 00FFEE")
    decoded = env.inbox.store("GSM Modem Gateway", deliver("Fine"))[0]
    assert env.client().get(f"/received/{decoded}").data["undecodable"] is False


def test_unmatched_reports_are_listed_newest_first_for_administrators(env):
    reports = Reports(Queue(env.inbox.database))
    assert reports.apply("GSM Modem Gateway", 17, "+447770009001", 0x46, pdu_hex="0006D6").message_id is None
    reports.keep("GSM Modem Gateway", "00FFEE", decode_error="truncated")
    listed = env.client("root").get("/unmatched-reports").data["reports"]
    assert [(r["reference"], r["to"], r["tp_status"], r["tp_status_text"], r["pdu"], r["decode_error"])
            for r in listed] == [(None, "", None, None, "00FFEE", "truncated"),
                                 (17, "+447770009001", 0x46, "validity period expired", "0006D6", None)]
    assert env.client("root").get("/unmatched-reports", query={"limit": 1}).data["reports"] == listed[:1]
    assert env.client("root").get("/unmatched-reports", query={"limit": 0}).error["field"] == "limit"
    assert env.client("alice").get("/unmatched-reports").status == 403


def test_group_of_contacts_made_on_the_command_line_reads_the_same(env):
    contacts.set_contact("alice", "Dr Who", "+441")
    contacts.set_group("alice", "Team", ["Dr Who"])
    assert env.client().get("/groups").data["groups"][0]["members"] == ["Dr Who"]
