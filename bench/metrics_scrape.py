"""How long a Prometheus scrape of /metrics takes with a million messages in the store.

The store is filled in bulk (``--messages`` outbound messages, 1,000,000 by default, most of
them sent or delivered long ago, ``--queued`` of them waiting, a tenth as many received, a
few webhook events pending), then ``GET /metrics`` is called in-process on the real bottle
app (as a WSGI call, no network) ``--scrapes`` times; the p50 and p99 of the server's time
are printed. For comparison it also times counting the messages by state over the whole
history, as ``request-server-status`` does: the scan a scrape does not make.

    python bench/metrics_scrape.py [--messages N] [--queued N] [--scrapes N] [--data DIR]

The store is kept in ``--data`` (default: a temporary folder) and reused when it already
holds the messages, since filling it takes a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
import uuid
from wsgiref.util import setup_testing_defaults

from appliance.accounts.authenticator import Authenticator
from appliance.control.metrics import ApplianceCollector
from appliance.gateways.assignment import Assignment, Connector, Routing
from appliance.gateways.base import Gateway
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.metrics import MetricsContext

BATCH = 20_000
GATEWAYS = ("GSM1", "GSM2")


class ReadyGateway(Gateway):
    """A modem as its status shows it: nothing is sent here."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def available(self) -> bool:
        return False

    @property
    def in_service(self) -> bool:
        return True

    def status(self) -> dict:
        return {"state": "ready", "detail": "", "model": "SIM800", "signal_dbm": -71,
                "registration": "registered (home)", "operator": "Bench"}

    def send(self, message, queue, done) -> None:
        raise AssertionError("nothing is sent here")


def fill(database, messages: int, queued: int, days: int = 365) -> None:
    """Rows as the service leaves them, written in large transactions (the service's own
    path would take hours for a million), created over the last ``days``."""
    now = time.time()
    start = now - days * 86400
    outbound = ("INSERT INTO outbound_message (id, connector, recipient, contact_name, sender, text, message_type, "
                "message_guid, message_info, gateways, priority, state, gateway, attempts, tried, error_text, "
                "parts_total, created_at, updated_at, sent_at) VALUES (?, 'HTTP API', ?, '', '', ?, 'sms.automatic', "
                "'', '', '', 0, ?, ?, 1, '', '', 1, ?, ?, ?)")
    inbound = ("INSERT INTO inbound_message (id, gateway, originator, recipient, text, message_type, smsc, pdu, "
               "parts_received, parts_total, received_at, connectors, removed, decode_error) "
               "VALUES (?, ?, '+447700900777', '', 'a reply', 'sms.text', '', '', 1, 1, ?, 'HTTP API', 0, '')")
    cursor = database.cursor()
    for first in range(0, messages, BATCH):
        rows = []
        for n in range(first, min(first + BATCH, messages)):
            at = start + (now - start) * n / messages
            state = (MessageState.QUEUED if n >= messages - queued
                     else (MessageState.DELIVERED, MessageState.SENT, MessageState.FAILED)[n % 7 % 3])
            gateway = "" if state == MessageState.QUEUED else GATEWAYS[n % 2]
            rows.append((str(uuid.UUID(int=n)), f"+4477009{n % 100000:05d}",
                         f"Reminder {n}: your appointment is tomorrow at 10:00", state, gateway, at, at,
                         None if state in (MessageState.QUEUED, MessageState.FAILED) else at))
        with database.atomic():
            cursor.executemany(outbound, rows)
            cursor.executemany(inbound, [(str(uuid.UUID(int=n)), GATEWAYS[n % 2],
                                          start + (now - start) * n * 10 / messages)
                                         for n in range(first // 10, (first + len(rows)) // 10)])
    with database.atomic():
        cursor.executemany("INSERT INTO webhook_delivery (connector, event, payload, state, attempts, "
                           "next_attempt_at, last_error, created_at) VALUES ('Hook', 'sms-received', '{}', "
                           "?, 0, ?, '', ?)",
                           [("pending" if n < 20 else "done", now, now - n) for n in range(10_000)])


def service_parts(database) -> tuple[Queue, Inbox, Router, asyncio.AbstractEventLoop]:
    """The queue, the inbox and a router over two ready gateways that send nothing: what
    the app reads when called in-process (the caller closes the loop). The store's
    messages are counted first, as the service does at start (store/counts.py)."""
    queue = Queue(database)
    queue.counts.scan(database)
    inbox = Inbox(database, counts=queue.counts)
    routing = Routing([Connector("HTTP API", "http", tuple(Assignment(g) for g in GATEWAYS)),
                       Connector("Hook", "webhook", ())])
    loop = asyncio.new_event_loop()
    return queue, inbox, Router(loop, queue, [ReadyGateway(g) for g in GATEWAYS], routing), loop


def scrape(app) -> float:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": "",
               "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}
    setup_testing_defaults(environ)
    started = time.perf_counter()
    body = b"".join(app(environ, lambda status, headers, exc_info=None: None))
    elapsed = time.perf_counter() - started
    assert b"sms_queued_messages" in body
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queued", type=int, default=1_000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--data", default=None)
    options = parser.parse_args()
    database = store_db.open_database(options.data or tempfile.mkdtemp(prefix="bench-metrics-"))
    if OutboundMessage.select().count() < options.messages:
        began = time.perf_counter()
        fill(database, options.messages, options.queued)
        print(f"filled the store in {time.perf_counter() - began:.0f} s")
    queue, inbox, router, loop = service_parts(database)
    context = HttpApiContext(queue=queue, authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: GATEWAYS, on_accepted=lambda: None, inbox=inbox,
                             server_status=dict)
    app = create_app(context, metered=MetricsContext(ApplianceCollector(router, queue, inbox)))
    scrape(app)  # the first reads the pages it needs into the cache, as a running service has
    times = sorted(scrape(app) for _ in range(options.scrapes))
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    print(f"{OutboundMessage.select().count():,} messages, {options.queued:,} queued: "
          f"scrape p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")
    began = time.perf_counter()
    database.execute_sql("SELECT state, COUNT(*) FROM outbound_message GROUP BY state").fetchall()
    print(f"for comparison, counting every message by state: {(time.perf_counter() - began) * 1000:.0f} ms")
    loop.close()
    database.close()


if __name__ == "__main__":
    main()
