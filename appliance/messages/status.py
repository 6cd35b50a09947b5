"""The status codes the APIs report for an outbound message. Stable: clients store them.

Documented in docs/http-api.md. Clients written for Diafaan read 200–299 as success, 200
as sent (some match the whole line ``STATUS:200 Success``), 201 as delivered, 300 as a
send error and 301 as not delivered. The appliance's own states (waiting, expired,
removed) therefore have codes no such client reads as sent or delivered: outside
200–299, and neither 300 nor 301. 302 kept its meaning (removed); expired, which was
301 before 301 had to mean undelivered, is 303.
"""

from __future__ import annotations

import time

from ..store.models import MessageState, OutboundMessage

QUEUED, SCHEDULED, SENDING, RETRYING = 100, 101, 102, 103
SENT, DELIVERED = 200, 201
FAILED, UNDELIVERED, REMOVED, EXPIRED = 300, 301, 302, 303

TEXTS = {
    QUEUED: "Queued",
    SCHEDULED: "Scheduled",
    SENDING: "Sending",
    RETRYING: "Waiting to retry",
    SENT: "Success",
    DELIVERED: "Delivered",
    FAILED: "Failed",
    UNDELIVERED: "Undelivered",
    REMOVED: "Removed",
    EXPIRED: "Expired",
}


def status_of(message: OutboundMessage, now: float | None = None) -> tuple[int, str]:
    now = time.time() if now is None else now
    state = message.state
    if state == MessageState.QUEUED:
        if message.retry_at is not None and message.retry_at > now:
            code = RETRYING
        elif message.scheduled_at is not None and message.scheduled_at > now:
            code = SCHEDULED
        else:
            code = QUEUED
    else:
        code = {
            MessageState.SENDING: SENDING,
            MessageState.SENT: SENT,
            MessageState.DELIVERED: DELIVERED,
            MessageState.FAILED: FAILED,
            MessageState.UNDELIVERED: UNDELIVERED,
            MessageState.EXPIRED: EXPIRED,
            MessageState.REMOVED: REMOVED,
        }[state]
    return code, TEXTS[code]
