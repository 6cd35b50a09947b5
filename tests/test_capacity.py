"""One request cannot fill the card: a user's waiting parts are limited, and a disk that is
full (or below its reserve) gets a clear temporary refusal, logged once a minute, shown by
/health and the status, while what was accepted stays."""

import io
import logging
import threading
import xml.etree.ElementTree as ET
from wsgiref.util import setup_testing_defaults

import pytest
from diafaan_api import Api

from appliance.store import db as store_db
from appliance.store.models import OutboundMessage
from appliance.store.space import Space
from appliance.web import capacity
from appliance.web.app import create_app
from appliance.web.capacity import Capacity, WaitingParts

FORTY_PARTS = "x" * (153 * 40)


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def api(tmp_path):
    database = store_db.open_database(tmp_path)
    api = Api(database)
    api.database, api.tmp_path = database, tmp_path
    yield api
    database.close()


def send(api, to, text="Hello", user="alice"):
    return api.call("send-message", {"to": to, "message": text}, "POST", user=user).lines


def health(api):
    environ = {"PATH_INFO": "/health", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    seen = {}
    body = b"".join(create_app(api.context)(environ, lambda status, headers, exc_info=None: seen.update(status=status)))
    return seen["status"], body.decode().strip()


def test_a_request_that_would_pass_the_users_limit_is_refused_whole(api):
    api.context.capacity = Capacity(max_queued_parts=100)
    lines = send(api, "+447700900001;+447700900002;+447700900003", FORTY_PARTS)
    assert lines[0].startswith("ERROR:311 Message rejected: to: this request has 120 SMS parts and 0 are "
                               "already waiting"), lines
    assert "at most 100 may wait" in lines[0]
    assert OutboundMessage.select().count() == 0
    assert send(api, "+447700900001;+447700900002", FORTY_PARTS)[0].startswith("OK: ")
    (line,) = send(api, "+447700900003", FORTY_PARTS)
    assert "has 40 SMS parts and 80 are already waiting" in line
    assert send(api, "+447700900003", FORTY_PARTS, user="bob")[0].startswith("OK: ")  # per user


def test_the_waiting_parts_are_counted_in_the_store_once_a_second_and_raised_by_what_was_admitted(api):
    """Counting on every request read the whole queue each time (a bulk ran 3x slower)."""
    clock = Clock()
    api.context.capacity = Capacity(max_queued_parts=100, waiting=WaitingParts(refresh=1.0, clock=clock))
    assert send(api, "+447700900001;+447700900002", FORTY_PARTS)[0].startswith("OK: ")  # counted: 0, then +80
    OutboundMessage.delete().execute()  # sent and gone, say, but not counted again yet
    (line,) = send(api, "+447700900003", FORTY_PARTS)
    assert "has 40 SMS parts and 80 are already waiting" in line
    clock.now += 1.0  # a second later the store is asked again
    assert send(api, "+447700900003", FORTY_PARTS)[0].startswith("OK: ")


def test_the_count_reads_the_queued_messages_not_every_message_a_user_ever_sent(api):
    sql, params = capacity.queued_by_user().sql()
    plan = " ".join(row[3] for row in api.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX outbound_message_queued" in plan, plan


def test_one_thread_counts_while_the_others_go_on_with_the_last_count(monkeypatch):
    clock, counting, release = Clock(), threading.Event(), threading.Event()

    def slow_count():
        counting.set()
        release.wait(30)
        return {7: 25}
    monkeypatch.setattr(capacity, "waiting_parts", slow_count)
    waiting = WaitingParts(refresh=1.0, clock=clock)
    waiting.admitted(7, 10)
    counter = threading.Thread(target=waiting.of, args=(7,))
    counter.start()
    try:
        assert counting.wait(30)
        assert waiting.of(7) == 10  # the last count, at once: no second count meanwhile
    finally:
        release.set()
        counter.join()
    assert waiting.of(7) == 25 and waiting.of(8) == 0


def test_a_thousand_recipients_of_a_255_part_text_are_refused_by_the_default_limit(api):
    api.context.capacity = Capacity()
    numbers = ";".join(f"+4477009{n:05d}" for n in range(1000))
    reply = api.call("send-message", {"to": numbers, "message": "y" * (153 * 255)}, "GET")
    assert reply.lines[0].startswith("ERROR:311") and "255000 SMS parts" in reply.lines[0]
    assert OutboundMessage.select().count() == 0


def test_below_the_reserve_new_messages_get_a_temporary_refusal_naming_the_cause(api):
    free = {"bytes": 10 * 2**20}
    api.context.capacity = Capacity(space=Space(api.tmp_path, 50 * 2**20, free_bytes=lambda path: free["bytes"]))
    (line,) = send(api, "+447700900001")
    assert line.startswith("ERROR:300 Unknown error: the appliance's disk is full: 10 MB free")
    assert "try again later" in line
    assert OutboundMessage.select().count() == 0
    assert health(api) == ("503 Service Unavailable", "disk full: 10 MB free, below the reserve of 50 MB")
    free["bytes"] = 60 * 2**20
    assert health(api) == ("200 OK", "OK")
    assert send(api, "+447700900001")[0].startswith("OK: ")


def test_sqlite_full_is_a_temporary_refusal_logged_once_a_minute_and_loses_nothing(api, caplog):
    clock = Clock()
    space = Space(api.tmp_path, 0, clock=clock)
    api.context.capacity = Capacity(space=space)
    api.context.server_status = lambda: {"name": "SMS Appliance", "version": "1", "time": 0, "started_at": 0,
                                         "uptime": 0, "messages": {}, "received": 0, "gateways": [],
                                         "connectors": [], "storage": space.problem() or "OK"}
    (accepted,) = send(api, "+447700900001")
    pages = api.database.execute_sql("PRAGMA page_count").fetchone()[0]
    api.database.execute_sql(f"PRAGMA max_page_count = {pages}")
    caplog.set_level(logging.ERROR)
    for _ in range(3):
        (line,) = send(api, "+447700900002", "z" * 5000)
        assert line.startswith("ERROR:300 Unknown error: the appliance's disk is full (SQLite: database or "
                               "disk is full)"), line
    assert [r.message for r in caplog.records if "disk full" in r.message] == [
        "disk full: new messages are refused until there is room: SQLite: database or disk is full"]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per request
    assert [m.id for m in OutboundMessage.select()] == [accepted[4:]]
    assert health(api)[0] == "503 Service Unavailable"
    status = ET.fromstring(api.call("request-server-status").text)
    assert status.findtext("Server/Storage") == "disk full: SQLite: database or disk is full"
    clock.now += 61
    assert health(api) == ("200 OK", "OK")
