"""The webhook connector: events POSTed as JSON with the token, retried, kept across restarts.

The retry schedule is followed on the loop's virtual time (looptime), with the store's clock
following it; the other tests POST to a local endpoint in real time and wait for it."""

import asyncio
import json
import threading
import uuid
from concurrent.futures import Executor, Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest

from appliance.connectors import webhook
from appliance.connectors.webhook import WebhookSender, WebhookTarget
from appliance.store.inbox import Inbox
from appliance.store.models import WebhookDelivery
from hil.waiting import run_until


class Receiver:
    """A local HTTP endpoint that fails its first ``failures`` requests with 500, and every
    request while ``down`` with 503. ``attempts`` holds every request, ``received`` the taken."""

    def __init__(self, failures=0):
        self.failures = failures
        self.down = False
        self.attempts = []
        self.received = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.changed:
                    if receiver.down:
                        status = 503
                    elif receiver.failures > 0:
                        receiver.failures -= 1
                        status = 500
                    else:
                        receiver.received.append((self.headers.get("Authorization"), body))
                        status = 204
                    receiver.attempts.append((status, body))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, predicate, timeout=15.0):
        """Until ``predicate(self)`` holds after a request; fails the test after ``timeout``."""
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self), timeout), "the webhook requests never came"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


async def test_events_are_posted_with_the_token_in_order(database):
    receiver = Receiver()
    loop = asyncio.get_running_loop()
    sender = WebhookSender(loop, database, [WebhookTarget("Hook", receiver.url, "s3cret")], parallel=1)
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "first"})
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "second"})
    sender.kick()
    await run_until(lambda: len(receiver.received) == 2)
    # the endpoint has the second POST before the sender has its answer: wait for that too
    await run_until(lambda: {d.state for d in WebhookDelivery.select()} == {"done"}, what="both answered")
    sender.stop()
    receiver.close()
    assert [(auth, body["text"]) for auth, body in receiver.received] == [
        ("Bearer s3cret", "first"), ("Bearer s3cret", "second")]
    assert {d.state for d in WebhookDelivery.select()} == {"done"}


EPOCH = 1_800_000_000.0  # the store's time when the loop's is 0


def loop_clock():
    """The store's time, moving with the loop's virtual time."""
    loop = asyncio.get_running_loop()
    return lambda: EPOCH + loop.time()


class Inline(Executor):
    """Runs each POST at once on the loop's thread, so the loop's time stands still during
    it; ``times`` holds the store's time of each."""

    def __init__(self, clock):
        self.clock = clock
        self.times = []

    def submit(self, fn, /, *args, **kwargs):
        self.times.append(self.clock())
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.mark.looptime
async def test_a_failing_endpoint_is_retried_with_growing_pauses_until_it_is_given_up(database):
    receiver = Receiver(failures=1000)
    clock = loop_clock()
    posts = Inline(clock)
    sender = WebhookSender(asyncio.get_running_loop(), database,
                           [WebhookTarget("Hook", receiver.url, give_up_after=2 * 3600)], clock=clock, executor=posts)
    created = clock()
    webhook.enqueue(["Hook"], {"event": "delivery-report", "status_code": 201}, now=created)
    sender.kick()
    await asyncio.sleep(3 * 3600)  # past the give-up time: every retry has come
    attempts = posts.times
    sender.stop()
    receiver.close()
    pauses = [round(b - a, 6) for a, b in pairwise(attempts)]
    # the schedule, then the last attempt exactly at the give-up time, then none
    assert pauses == [5, 30, 120, 600, 1800, 3600, 7200 - 6155]
    assert attempts[-1] == created + 2 * 3600
    (delivery,) = WebhookDelivery.select()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", 8, "HTTP 500")
    assert receiver.failures == 1000 - 8   # one POST per attempt, none in between


@pytest.mark.looptime
async def test_an_endpoint_that_recovers_gets_the_event_at_its_next_attempt(database):
    receiver = Receiver(failures=2)
    clock = loop_clock()
    posts = Inline(clock)
    sender = WebhookSender(asyncio.get_running_loop(), database, [WebhookTarget("Hook", receiver.url)],
                           clock=clock, executor=posts)
    webhook.enqueue(["Hook"], {"event": "delivery-report", "status_code": 201}, now=clock())
    sender.kick()
    await asyncio.sleep(24 * 3600)  # a day: long enough for every retry there is
    assert [round(t - posts.times[0], 6) for t in posts.times] == [0, 5, 35]  # then no more
    sender.stop()
    receiver.close()
    (delivery,) = WebhookDelivery.select()
    assert (delivery.state, delivery.attempts) == ("done", 3)
    assert receiver.received[0][1]["status_code"] == 201


@pytest.mark.looptime
async def test_every_event_has_an_id_that_its_retries_repeat(database):
    receiver = Receiver(failures=1)
    clock = loop_clock()
    targets = [WebhookTarget("Hook", receiver.url), WebhookTarget("Other", receiver.url)]
    sender = WebhookSender(asyncio.get_running_loop(), database, targets, clock=clock, executor=Inline(clock))
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "one"}, now=clock())
    webhook.enqueue(["Hook", "Other"], {"event": "sms-received", "text": "two"}, now=clock())
    stored = {d.id: json.loads(d.payload)["event_id"] for d in WebhookDelivery.select()}
    sender.kick()
    await asyncio.sleep(10)   # the first POST failed: its retry comes 5 s later
    sender.stop()
    receiver.close()
    assert sorted(body["event_id"] for _, body in receiver.received) == sorted(stored.values())
    ids = {body["text"]: set() for _, body in receiver.received}
    for _, body in receiver.received:
        ids[body["text"]].add(body["event_id"])
    # an event has one id, whichever connector it went to; two events never share one
    assert all(len(v) == 1 for v in ids.values()) and ids["one"] != ids["two"]
    assert all(str(uuid.UUID(i)) == i for i in stored.values())


async def test_events_owed_when_the_process_stopped_are_sent_after_a_restart(database):
    loop = asyncio.get_running_loop()
    down = WebhookSender(loop, database, [WebhookTarget("Hook", "http://127.0.0.1:9/unreachable", timeout=0.5)])
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "kept"})
    down.kick()
    await run_until(lambda: WebhookDelivery.get().attempts == 1)
    down.stop()  # the process ends with the event still owed
    assert WebhookDelivery.get().state == "pending"
    receiver = Receiver()
    WebhookDelivery.update(next_attempt_at=0).execute()  # as if its pause had passed
    up = WebhookSender(loop, database, [WebhookTarget("Hook", receiver.url)])
    up.kick()
    await run_until(lambda: receiver.received)
    up.stop()
    receiver.close()
    assert receiver.received[0][1]["text"] == "kept"


async def test_an_event_that_never_gets_through_is_given_up_after_its_time(database):
    target = WebhookTarget("Hook", "http://127.0.0.1:9/", timeout=0.5, give_up_after=0)
    sender = WebhookSender(asyncio.get_running_loop(), database, [target])
    webhook.enqueue(["Hook"], {"event": "sms-received"})
    sender.kick()
    await run_until(lambda: WebhookDelivery.get().state == "failed")
    sender.stop()
    assert "refused" in WebhookDelivery.get().last_error.lower()


def test_an_undecodable_sms_reaches_the_webhooks_marked_with_its_pdu_in_the_text(database):
    events = []
    inbox = Inbox(database, receivers=lambda gateway: ["Hook"], fanout=lambda m: events.append(webhook.sms_event(m)))
    inbox.store("GSM1", "00FFEE")
    (event,) = events
    assert event["undecodable"] is True and event["text"].endswith("] 00FFEE")
