"""A test SMS through one gateway only, and the answer its provider or modem gave.

An administrator checks a gateway (new credentials, a new SIM) without waiting for real
traffic: ``POST /api/v1/gateways/<name>/test``, the button on /admin/gateways and
``sms-appliance gateway test`` all end here. The message is an ordinary one of the HTTP
API's connector, checked as any other (``web/submission.py``), with its ``gateways`` list
naming this gateway alone: the router never hands it to another gateway, not even a
backup (``gateways/assignment.py``). The request waits, bounded by :data:`WAIT`, until
the first attempt has ended; a message put back for a retry after that attempt is taken
out of the queue (removed), so a failed test is reported, never sent later by surprise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from msgspec import Meta

from ...accounts.users import Principal
from ...control.server_control import ServerControl
from ...store.models import MessageState, OutboundMessage, parts_of
from ...store.queue import Queue
from .. import submission
from ..diafaan.common import HttpApiContext
from .fields import Input, Output
from .messages import submission_refusals
from .operate import run
from .wire import ApiError

WAIT = 60.0           # seconds a test waits for its first attempt to end
POLL = 0.1            # seconds between two looks at the message
INFO = "gateway test"  # the message's info: it shows in the message list as what it was


class TestRequest(Input, kw_only=True):
    to: Annotated[str, Meta(min_length=1, max_length=64, description="the number the test SMS goes to")]
    text: Annotated[str, Meta(min_length=1, max_length=1000, description="its text")]


class TestResult(Output):
    """What became of the test: ``state`` is the message's (sent, failed, removed after a
    temporary fault, or still queued or sending when :data:`WAIT` ran out)."""

    id: str
    gateway: str
    state: str
    provider_reference: str          # an HTTP provider's id of the message
    references: list[int]            # a modem's +CMGS reference of each part sent
    error_code: int | None           # the provider's or modem's error code, as it gave it
    error_text: str                  # and its words
    answer: str                      # all of that in one sentence, for a person


def send_test(http: HttpApiContext, principal: Principal, gateway: str, request: TestRequest, *,
              wait: float = WAIT, clock: Callable[[], float] = time.monotonic) -> TestResult:
    """Queue the test for ``gateway`` alone, wake the router, and wait for the answer."""
    control = _control(http)
    _check_gateway(control, http.connector, gateway)
    names = submission.JSON_NAMES
    fields = submission.Fields(to=[request.to], message=request.text, info=INFO, gateways=[gateway])
    with submission_refusals():
        messages = submission.build(fields, principal, names=names, known_gateways=http.gateway_names(),
                                    connector=http.connector, country_code=http.country_code)
        messages, _ = submission.screen(messages, names=names)
        (message_id,), _ = submission.commit(http.queue, messages, names=names, capacity=http.capacity)
    http.on_accepted()
    return _result(_first_attempt(http.queue, message_id, wait, clock), gateway, wait)


def _control(http: HttpApiContext) -> ServerControl:
    if http.control is None:
        raise ApiError(503, "unavailable", "this appliance runs no gateways to test")
    return http.control


def _check_gateway(control: ServerControl, connector: str, gateway: str) -> None:
    """409 for a gateway that could not take the test now: the message would only wait."""
    def look() -> str | None:
        found = next((g for g in control.configuration()["gateways"] if g["name"] == gateway), None)
        if found is None:
            return None
        route = control.router.routing.connectors.get(connector)
        primaries, backups = route.senders(gateway) if route else ([], [])
        if gateway not in primaries + backups:
            return (f"the {connector!r} connector does not send through {gateway!r}; "
                    "set its routing Send to 1 for that gateway first")
        if not found["running"]:
            return f"{gateway!r} is stopped: start it first"
        if found["paused"]:
            return f"{gateway!r} is paused: resume it first"
        return ""
    problem = run(control, look)
    if problem is None:
        raise ApiError(404, "not_found", f"there is no gateway {gateway!r}")
    if problem:
        raise ApiError(409, "not_allowed", problem)


def _first_attempt(queue: Queue, message_id: str, wait: float, clock: Callable[[], float]) -> OutboundMessage:
    """The message once final or back in the queue after its first attempt (then removed),
    or as it is when ``wait`` runs out (a queued one removed too)."""
    deadline = clock() + wait
    while True:
        message = queue.get(message_id)
        if message is None:  # cannot be: a committed message is never deleted
            raise ApiError(500, "internal_error", f"the test message {message_id} is gone")
        attempted = message.state == MessageState.QUEUED and message.attempts >= 1
        if message.state in MessageState.FINAL or attempted or clock() >= deadline:
            if message.state == MessageState.QUEUED and queue.remove(message_id):
                message = queue.get(message_id) or message
            return message
        time.sleep(POLL)


def _result(message: OutboundMessage, gateway: str, wait: float) -> TestResult:
    references = [part.reference for part in parts_of(message) if part.reference is not None]
    error = f"error {message.error_code}: " if message.error_code is not None else ""
    if message.state == MessageState.SENT:
        given = message.provider_reference or ", ".join(str(r) for r in references)
        answer = f"sent; the gateway's reference: {given}" if given else "sent"
    elif message.state == MessageState.REMOVED and message.attempts:
        answer = f"not sent (temporary fault, not retried): {error}{message.error_text}"
    elif message.state == MessageState.REMOVED:
        answer = f"not sent: the gateway did not take it within {wait:g} s"
    elif message.state == MessageState.SENDING:
        answer = f"still sending after {wait:g} s: see the message {message.id} later"
    else:
        answer = f"{message.state}: {error}{message.error_text}"
    return TestResult(id=message.id, gateway=gateway, state=message.state,
                      provider_reference=message.provider_reference, references=references,
                      error_code=message.error_code, error_text=message.error_text, answer=answer)
