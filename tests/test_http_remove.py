"""remove-queued-message: a message still waiting leaves the queue; one already taken stays."""

import pytest
from diafaan_api import Api

from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage

GATEWAY = "GSM Modem Gateway"


@pytest.fixture
def api(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    yield Api(database, clock=clock)
    database.close()


def send(api, user="alice", **params):
    (line,) = api.call("send-message", {"to": "+447700900123", "message": "Hello", **params}, user=user).lines
    assert line.startswith("OK: "), line
    return line[4:]


def remove(api, message_id, method="GET", user="alice"):
    return api.call("remove-queued-message", {"message-id": message_id}, method, user=user).lines


def status(api, message_id):
    return api.call("request-status-update", {"message-id": message_id}, user="root").lines


def retrying(api, clock):
    message_id = send(api)
    api.queue.claim(GATEWAY)
    # far ahead: request-status-update compares retry_at with the wall clock, not the test's
    api.queue.retry(message_id, 4_000_000_000.0, 42, "congestion")
    return message_id


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_queued_message_is_removed_and_never_sent(api, clock, method):
    message_id = send(api)
    assert remove(api, message_id, method) == ["OK: Removed"]
    assert status(api, message_id) == ["STATUS:302 Removed"]
    assert api.queue.claim(GATEWAY) is None


@pytest.mark.parametrize("prepare, shown", [
    (lambda api, clock: send(api, scheduled="2999-01-01T00:00:00Z"), "STATUS:101 Scheduled"),
    (retrying, "STATUS:103 Waiting to retry"),
])
def test_scheduled_and_retrying_messages_are_still_queued_and_can_be_removed(api, clock, prepare, shown):
    message_id = prepare(api, clock)
    assert status(api, message_id) == [shown]
    assert remove(api, message_id) == ["OK: Removed"]
    assert OutboundMessage.get_by_id(message_id).state == MessageState.REMOVED


def sending(api, clock):
    message_id = send(api)
    api.queue.claim(GATEWAY)
    return message_id


def sent(api, clock):
    message_id = sending(api, clock)
    api.queue.complete(message_id)
    return message_id


def failed(api, clock):
    message_id = sending(api, clock)
    api.queue.fail(message_id, 28, "unidentified subscriber")
    return message_id


def expired(api, clock):
    message_id = send(api, **{"validity-period": "60"})
    clock.now += 61
    api.queue.expire_due()
    return message_id


def removed(api, clock):
    message_id = send(api)
    api.queue.remove(message_id)
    return message_id


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("prepare, state, shown", [
    (sending, MessageState.SENDING, "102 Sending"),
    (sent, MessageState.SENT, "200 Success"),
    (failed, MessageState.FAILED, "300 Failed"),
    (expired, MessageState.EXPIRED, "303 Expired"),
    (removed, MessageState.REMOVED, "302 Removed"),
])
def test_a_message_no_longer_queued_is_not_allowed_and_says_its_status(api, clock, method, prepare, state, shown):
    message_id = prepare(api, clock)
    assert remove(api, message_id, method) == [
        f"ERROR:307 Operation not allowed: message {message_id} is no longer queued: its status is {shown}"]
    assert OutboundMessage.get_by_id(message_id).state == state


def test_another_users_message_is_not_found_but_an_administrator_may_remove_it(api):
    message_id = send(api, user="alice")
    assert remove(api, message_id, user="bob") == [f"ERROR:309 Message id not found: {message_id}"]
    assert OutboundMessage.get_by_id(message_id).state == MessageState.QUEUED
    assert remove(api, message_id, user="root") == ["OK: Removed"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query, expected", [
    ("", "ERROR:306 Unknown command or insufficient parameters: message-id is missing"),
    ("&message-id=", "ERROR:306 Unknown command or insufficient parameters: message-id is missing"),
    ("&message-id=nope", "ERROR:309 Message id not found: nope"),
    ("&message-id=nope%0D%0AOK:%20Removed", "ERROR:309 Message id not found: nope\\r\\nOK: Removed"),
    ("&message-id=a&message-id=b", "ERROR:306 Unknown command or insufficient parameters: message-id is given 2 times"),
    ("&password=wrong", "ERROR:304 Authentication error: unknown user or wrong password, or too many failed attempts"),
])
def test_bad_requests_remove_nothing(api, method, query, expected):
    message_id = send(api)
    user = "username=alice" + ("" if "password=" in query else "&password=correct+horse")
    reply = api.call("remove-queued-message", method=method, raw_query=user + query)
    assert reply.lines == [expected]  # one line, even when the id the client sent had a line break
    assert OutboundMessage.get_by_id(message_id).state == MessageState.QUEUED
