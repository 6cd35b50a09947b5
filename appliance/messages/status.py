"""The status codes the APIs report for an outbound message. Stable: clients store them.

Documented in docs/http-api.md; a code, once published, never changes meaning.
"""

from __future__ import annotations

import time

from ..store.models import MessageState, OutboundMessage

QUEUED, SCHEDULED, SENDING, RETRYING = 100, 101, 102, 103
SENT, DELIVERED = 200, 201
FAILED, EXPIRED, REMOVED = 300, 301, 302

TEXTS = {
    QUEUED: "Queued",
    SCHEDULED: "Scheduled",
    SENDING: "Sending",
    RETRYING: "Waiting to retry",
    SENT: "Sent",
    DELIVERED: "Delivered",
    FAILED: "Failed",
    EXPIRED: "Expired",
    REMOVED: "Removed",
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
            MessageState.EXPIRED: EXPIRED,
            MessageState.REMOVED: REMOVED,
        }[state]
    return code, TEXTS[code]
