"""The webhook connector: events POSTed as JSON with the token, retried, kept across restarts."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from appliance.connectors import webhook
from appliance.connectors.webhook import WebhookSender, WebhookTarget
from appliance.reactor import Reactor
from appliance.store.models import WebhookDelivery


class Receiver:
    """A local HTTP endpoint that fails its first ``failures`` requests with 500."""

    def __init__(self, failures=0):
        self.failures = failures
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                else:
                    receiver.received.append((self.headers.get("Authorization"), json.loads(body)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

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


def test_a_failing_endpoint_is_retried_with_a_pause(database, monkeypatch):
    monkeypatch.setattr(webhook, "BACKOFF", (0.05, 0.05))
    receiver = Receiver(failures=2)
    reactor = Reactor()
    sender = WebhookSender(reactor, database, [WebhookTarget("Hook", receiver.url)])
    webhook.enqueue(["Hook"], {"event": "delivery-report", "status_code": 201})
    sender.kick()
    run_until(reactor, lambda: receiver.received)
    sender.stop()
    receiver.close()
    (delivery,) = WebhookDelivery.select()
    assert (delivery.state, delivery.attempts) == ("done", 3)
    assert receiver.received[0][1]["status_code"] == 201


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
