"""A message-guid belongs to the user who gave it: two users may use the same one, each
gets their own messages, and nothing one does tells them whether another used it."""

import pytest
from diafaan_api import Api

from appliance.accounts.users import Principal
from appliance.connectors import webhook
from appliance.store import db as store_db
from appliance.store import message_ids
from appliance.store.models import OutboundMessage, User
from appliance.store.queue import NewMessage
from appliance.web import submission

TO = "+447700900123"


@pytest.fixture
def api(tmp_path):
    database = store_db.open_database(tmp_path)
    yield Api(database)
    database.close()


def send(api, user, guid, to=TO, message="Hello"):
    return api.call("send-message", {"to": to, "message": message, "message-guid": guid}, user=user).lines


def ask(api, user, command, message_id):
    return api.call(command, {"message-id": message_id}, user=user).lines


def owned(guid):
    """Who owns each stored message that the client sees as ``guid``."""
    return sorted(m.user.name for m in OutboundMessage.select() if m.id.rpartition("/")[2] == guid)


def test_two_users_may_use_the_same_guid_and_each_sees_their_own_message(api):
    assert send(api, "alice", "order-1") == ["OK: order-1"]
    assert send(api, "bob", "order-1", message="Bob's own") == ["OK: order-1"]
    assert owned("order-1") == ["alice", "bob"]
    api.queue.remove(OutboundMessage.get(OutboundMessage.text == "Bob's own").id)
    assert ask(api, "alice", "request-status-update", "order-1") == ["STATUS:100 Queued"]
    assert ask(api, "bob", "request-status-update", "order-1") == ["STATUS:302 Removed"]


def test_several_recipients_get_numbered_ids_per_user(api):
    assert send(api, "alice", "batch", to="+441;+442") == ["OK: batch-1", "OK: batch-2"]
    assert send(api, "bob", "batch", to="+443;+444") == ["OK: batch-1", "OK: batch-2"]
    assert owned("batch-2") == ["alice", "bob"]


def test_a_repeat_by_the_same_user_is_idempotent_and_another_message_is_refused(api):
    assert send(api, "alice", "once", to="+441;+442") == ["OK: once-1", "OK: once-2"]
    assert send(api, "alice", "once", to="+441;+442") == ["OK: once-1", "OK: once-2"]
    (refused,) = send(api, "alice", "once", to="+441;+442", message="something else")
    assert refused.startswith("ERROR:311 Message rejected: message-guid")
    assert OutboundMessage.select().count() == 2


def test_bob_cannot_tell_whether_alice_used_a_guid(api):
    def bobs_view(guid):
        replies = (ask(api, "bob", "request-status-update", guid), ask(api, "bob", "remove-queued-message", guid),
                   send(api, "bob", guid, message="Hello"), send(api, "bob", guid, message="Hello"))
        return [[line.replace(guid, "<guid>") for line in reply] for reply in replies]

    send(api, "alice", "used")  # the very message Bob sends: a repeat would match it
    assert bobs_view("used") == bobs_view("unused")
    assert bobs_view("unused")[2:] == [["OK: <guid>"], ["OK: <guid>"]]
    assert ask(api, "alice", "request-status-update", "used") == ["STATUS:100 Queued"]


def test_remove_by_guid_takes_only_the_callers_message(api):
    send(api, "alice", "g")
    send(api, "bob", "g")
    assert ask(api, "bob", "remove-queued-message", "g") == ["OK: Removed"]
    assert ask(api, "alice", "request-status-update", "g") == ["STATUS:100 Queued"]
    assert ask(api, "bob", "request-status-update", "g") == ["STATUS:302 Removed"]


def test_an_administrator_finds_their_own_first_then_the_oldest(api):
    send(api, "alice", "shared")
    send(api, "bob", "shared")
    api.queue.remove(OutboundMessage.get(OutboundMessage.user == User.get(User.name == "bob").id).id)
    assert ask(api, "root", "request-status-update", "shared") == ["STATUS:100 Queued"]  # alice's, the oldest
    send(api, "root", "shared")
    assert ask(api, "root", "remove-queued-message", "shared") == ["OK: Removed"]
    assert ask(api, "alice", "request-status-update", "shared") == ["STATUS:100 Queued"]


def test_a_stored_key_is_not_an_id_a_client_can_ask_by(api):
    send(api, "alice", "g")
    (key,) = [m.id for m in OutboundMessage.select()]
    assert ask(api, "alice", "request-status-update", key)[0].startswith("ERROR:")


def test_the_json_api_keeps_guids_per_user(env):
    alice, bob = env.client("alice"), env.client("bob")
    body = {"to": ["+441"], "message": "Hi", "guid": "j1"}
    assert alice.post("/messages", body).data["messages"][0]["id"] == "j1"
    assert bob.post("/messages", {**body, "message": "Bob's"}).status == 201
    assert alice.post("/messages", body).status == 200                # the same request again
    assert alice.post("/messages", {**body, "message": "other"}).status == 409
    assert alice.get("/messages/j1").data["message"] == "Hi"
    assert bob.get("/messages/j1").data["message"] == "Bob's"
    assert bob.get("/messages/j1/reports").data["message_id"] == "j1"
    assert [m["id"] for m in bob.get("/messages").data["messages"]] == ["j1"]
    assert bob.delete("/messages/j1").data["state"] == "removed"
    assert alice.get("/messages/j1").data["state"] == "queued"


def test_a_delivery_report_webhook_carries_the_id_the_client_was_given(api):
    send(api, "alice", "hooked")
    (message,) = OutboundMessage.select()
    assert webhook.report_event(message, 201, "Delivered", "")["message_id"] == "hooked"


def test_a_guid_message_stored_before_guids_were_per_user_stays_findable(api):
    """Such a message is stored under the guid itself: its owner still finds it, repeats
    it without a second message, and cannot put another message under it."""
    alice = User.get(User.name == "alice").id
    api.queue.accept([NewMessage(recipient=TO, text="Hello", message_guid="old", user_id=alice, id="old")])
    assert ask(api, "alice", "request-status-update", "old") == ["STATUS:100 Queued"]
    assert send(api, "alice", "old") == ["OK: old"]
    assert send(api, "alice", "old", message="new text")[0].startswith("ERROR:311")
    assert ask(api, "bob", "request-status-update", "old")[0].startswith("ERROR:")
    assert send(api, "bob", "old") == ["OK: old"]
    assert ask(api, "alice", "remove-queued-message", "old") == ["OK: Removed"]
    assert ask(api, "bob", "request-status-update", "old") == ["STATUS:100 Queued"]
    assert OutboundMessage.select().count() == 2


def test_callers_vouched_for_by_the_callback_each_have_their_own_guids(api):
    """They have no account: their guids are kept apart by their names."""
    def commit(name, message):
        caller = Principal(None, name, False, external=True)
        built = submission.build(submission.Fields(to=[TO], message=message, guid="cb"), caller,
                                 names=submission.HTTP_NAMES, known_gateways=(), connector="HTTP API")
        return submission.commit(api.queue, built, names=submission.HTTP_NAMES)

    assert commit("crm", "Hello") == (["cb"], True)
    assert commit("crm", "Hello") == (["cb"], False)
    assert commit("erp", "Other") == (["cb"], True)
    with pytest.raises(submission.GuidTaken):
        commit("crm", "Other")
    assert OutboundMessage.select().count() == 2


def test_an_administrator_finds_a_message_by_key_lookups_not_a_read_of_every_key(api):
    """With a million messages a read of every key takes most of a second: a uuid and a
    local user's guid are each found through the primary key."""
    send(api, "alice", "order-1")
    uuid_id = api.queue.accept([NewMessage(TO, "no guid")])[0]
    database = api.queue.database
    executed: list[str] = []
    database.connection().set_trace_callback(executed.append)
    try:
        assert message_ids.find("order-1", None, everyone=True).text == "Hello"
        assert message_ids.find(uuid_id, None, everyone=True).id == uuid_id
    finally:
        database.connection().set_trace_callback(None)
    reads = [sql for sql in executed if sql.startswith("SELECT") and "outbound_message" in sql]
    assert len(reads) == 2
    for sql in reads:
        plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN" not in plan, plan
