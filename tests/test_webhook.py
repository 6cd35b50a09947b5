"""The webhook connector: events POSTed as JSON with the token, retried, kept across restarts."""

import json
import threading
import time
import uuid
from concurrent.futures import Executor, Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from appliance.connectors import webhook
from appliance.connectors.webhook import WebhookSender, WebhookTarget
from appliance.reactor import Reactor, Timer
from appliance.store.models import WebhookDelivery


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


def run_until(reactor, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout

    def check():
        if predicate() or time.monotonic() > deadline:
            reactor.stop()
        else:
            reactor.call_later(0.02, check)
    reactor.call_soon(check)
    reactor.run()


def test_events_are_posted_with_the_token_in_order(database):
    receiver = Receiver()
    reactor = Reactor()
    sender = WebhookSender(reactor, database, [WebhookTarget("Hook", receiver.url, "s3cret")], parallel=1)
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "first"})
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "second"})
    sender.kick()
    run_until(reactor, lambda: len(receiver.received) == 2)
    sender.stop()
    receiver.close()
    assert [(auth, body["text"]) for auth, body in receiver.received] == [
        ("Bearer s3cret", "first"), ("Bearer s3cret", "second")]
    assert {d.state for d in WebhookDelivery.select()} == {"done"}


class ManualReactor:
    """The reactor's scheduling, run by the test: timers are only recorded, never waited for."""

    def __init__(self, clock):
        self.clock = clock
        self.ready = []
        self.timers = []

    def call_soon(self, callback, *args):
        self.ready.append((callback, args))

    call_soon_threadsafe = call_soon

    def call_later(self, delay, callback, *args):
        timer = Timer(self.clock() + delay, callback, args)
        self.timers.append(timer)
        return timer

    def settle(self):
        while self.ready:
            callback, args = self.ready.pop(0)
            callback(*args)

    def armed(self):
        return [t for t in self.timers if not t.cancelled]

    def fire_next(self):
        """Move the clock to the one armed timer and run it."""
        (timer,) = self.armed()
        timer.cancel()
        self.clock.now = timer.when
        timer.callback(*timer.args)
        self.settle()


class Inline(Executor):
    """Runs each POST at once on the caller's thread: the test decides when time passes."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_a_failing_endpoint_is_retried_with_growing_pauses_until_it_is_given_up(database, clock):
    receiver = Receiver(failures=1000)
    reactor = ManualReactor(clock)
    sender = WebhookSender(reactor, database, [WebhookTarget("Hook", receiver.url, give_up_after=2 * 3600)],
                           clock=clock, executor=Inline())
    created = clock.now
    webhook.enqueue(["Hook"], {"event": "delivery-report", "status_code": 201}, now=created)
    sender.kick()
    reactor.settle()
    attempts = [clock.now]
    while reactor.armed():
        reactor.fire_next()
        attempts.append(clock.now)
    sender.stop()
    receiver.close()
    pauses = [round(b - a, 6) for a, b in zip(attempts, attempts[1:])]
    # the schedule, then the last attempt exactly at the give-up time, then none
    assert pauses == [5, 30, 120, 600, 1800, 3600, 7200 - 6155]
    assert attempts[-1] == created + 2 * 3600
    (delivery,) = WebhookDelivery.select()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", 8, "HTTP 500")
    assert receiver.failures == 1000 - 8   # one POST per attempt, none in between


def test_an_endpoint_that_recovers_gets_the_event_at_its_next_attempt(database, clock):
    receiver = Receiver(failures=2)
    reactor = ManualReactor(clock)
    sender = WebhookSender(reactor, database, [WebhookTarget("Hook", receiver.url)], clock=clock, executor=Inline())
    webhook.enqueue(["Hook"], {"event": "delivery-report", "status_code": 201}, now=clock.now)
    sender.kick()
    reactor.settle()
    reactor.fire_next()
    reactor.fire_next()
    assert reactor.armed() == []
    sender.stop()
    receiver.close()
    (delivery,) = WebhookDelivery.select()
    assert (delivery.state, delivery.attempts) == ("done", 3)
    assert receiver.received[0][1]["status_code"] == 201


def test_every_event_has_an_id_that_its_retries_repeat(database, clock):
    receiver = Receiver(failures=1)
    reactor = ManualReactor(clock)
    targets = [WebhookTarget("Hook", receiver.url), WebhookTarget("Other", receiver.url)]
    sender = WebhookSender(reactor, database, targets, clock=clock, executor=Inline())
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "one"}, now=clock.now)
    webhook.enqueue(["Hook", "Other"], {"event": "sms-received", "text": "two"}, now=clock.now)
    stored = {d.id: json.loads(d.payload)["event_id"] for d in WebhookDelivery.select()}
    sender.kick()
    reactor.settle()
    reactor.fire_next()   # the first POST failed: its retry
    sender.stop()
    receiver.close()
    assert sorted(body["event_id"] for _, body in receiver.received) == sorted(stored.values())
    ids = {body["text"]: set() for _, body in receiver.received}
    for _, body in receiver.received:
        ids[body["text"]].add(body["event_id"])
    # an event has one id, whichever connector it went to; two events never share one
    assert all(len(v) == 1 for v in ids.values()) and ids["one"] != ids["two"]
    assert all(str(uuid.UUID(i)) == i for i in stored.values())


def test_events_owed_when_the_process_stopped_are_sent_after_a_restart(database):
    reactor = Reactor()
    down = WebhookSender(reactor, database, [WebhookTarget("Hook", "http://127.0.0.1:9/unreachable", timeout=0.5)])
    webhook.enqueue(["Hook"], {"event": "sms-received", "text": "kept"})
    down.kick()
    run_until(reactor, lambda: WebhookDelivery.get().attempts == 1)
    down.stop()  # the process ends with the event still owed
    assert WebhookDelivery.get().state == "pending"
    receiver = Receiver()
    WebhookDelivery.update(next_attempt_at=0).execute()  # as if its pause had passed
    reactor = Reactor()
    up = WebhookSender(reactor, database, [WebhookTarget("Hook", receiver.url)])
    up.kick()
    run_until(reactor, lambda: receiver.received)
    up.stop()
    receiver.close()
    assert receiver.received[0][1]["text"] == "kept"


def test_an_event_that_never_gets_through_is_given_up_after_its_time(database):
    reactor = Reactor()
    sender = WebhookSender(reactor, database, [WebhookTarget("Hook", "http://127.0.0.1:9/", timeout=0.5,
                                                             give_up_after=0)])
    webhook.enqueue(["Hook"], {"event": "sms-received"})
    sender.kick()
    run_until(reactor, lambda: WebhookDelivery.get().state == "failed")
    sender.stop()
    assert "refused" in WebhookDelivery.get().last_error.lower()
