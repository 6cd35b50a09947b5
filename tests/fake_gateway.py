"""A gateway without a modem, for the router and control tests."""

import threading

from appliance.gateways.base import Gateway, Outcome


class FakeGateway(Gateway):
    """Sends with scripted outcomes (success once they run out), and says so through an
    event, so tests wait for it instead of sleeping.

    With a ``loop`` an attempt ends on the next loop turn and the gateway is busy until
    then, as a real one is; without, it ends inside ``send``.
    """

    def __init__(self, name, *, loop=None, outcomes=(), up=False):
        self.name = name
        self.loop = loop
        self.outcomes = list(outcomes)
        self.up = up
        self.calls = []
        self.sent = []
        self.sent_event = threading.Event()
        self._busy = False

    @property
    def available(self):
        return self.up and not self._busy

    @property
    def in_service(self):
        return self.up

    def status(self):
        return {"state": "ready" if self.up else "stopped", "detail": ""}

    def start(self):
        self.up = True
        self.calls.append("start")

    def stop(self):
        self.up = False
        self.calls.append("stop")

    def send(self, message, queue, done):
        self._busy = True
        outcome = self.outcomes.pop(0) if self.outcomes else Outcome(True, parts=1)

        def finish():
            self._busy = False
            if outcome.ok:
                self.sent.append(message.id)
            done(outcome)
            self.sent_event.set()
        if self.loop is None:
            finish()
        else:
            self.loop.call_soon(finish)
