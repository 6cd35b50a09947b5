"""The dashboard: each gateway's state in words, its signal, today's counts and what is
left of its send limits; the queue; the connectors and their webhook backlogs; the last
events. One view (``view``) feeds both the page and the JSON the page's script polls
every second, so the first paint and every update say the same words.

The gathering is control.server_status's (the same as request-server-status shows: its
counts are kept in memory, store.counts); what it does not hold, the event log, is read
here through its index on time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import bottle

from ...modem.driver import ModemState
from ...store.counts import FAILED, RECEIVED, SENT
from ...store.models import Event, MessageState
from .pages import UiContext, render, require, secured, visitor

EVENTS_SHOWN = 10
# how old a view may be when handed out: with the script's poll every second, a change
# shows within 1.5 s and a request's time
MAX_AGE = 0.5
# a state in words, and its tone: ok (green), warn (amber), bad (red), off (grey)
STATES: dict[str, tuple[str, str]] = {
    ModemState.READY: ("ready", "ok"),
    ModemState.INITIALISING: ("registering", "warn"),
    ModemState.NOT_REGISTERED: ("no network", "warn"),
    ModemState.NO_SMSC: ("no SMS centre on the SIM", "bad"),
    ModemState.PIN_REQUIRED: ("PIN needed", "bad"),
    ModemState.PIN_WRONG: ("PIN refused", "bad"),
    ModemState.PUK_LOCKED: ("SIM locked: PUK needed", "bad"),
    ModemState.FAILED: ("failed", "bad"),
    ModemState.POWER_CYCLING: ("restarting", "warn"),
    ModemState.STOPPED: ("stopped", "off"),
    ModemState.CLOSED: ("not started", "off"),
    # a provider gateway's own (gateways/providers/engine.py)
    "resting after faults": ("resting after faults", "warn"),
    "waiting for its start date": ("waiting for its start date", "off"),
}


def bars(dbm: int | None) -> int:
    """Signal bars, 0 to 4, from the dBm a modem reports (-113 to -51): as a phone shows them."""
    if dbm is None:
        return 0
    return sum(dbm >= threshold for threshold in (-105, -95, -85, -75))


def limits(gateway: dict) -> str:
    """The send limits in words, with what is left of the day's and the month's."""
    used = gateway["limits_used"] or (0, 0)
    words = []
    for limit, spent, period in ((gateway["send_limit_day"], used[0], "day"),
                                 (gateway["send_limit_month"], used[1], "month")):
        if limit is not None:
            words.append(f"{limit} a {period} ({max(0, limit - spent)} left)")
    if gateway["send_rate_per_minute"] is not None:
        words.append(f"{gateway['send_rate_per_minute']} a minute")
    return ", ".join(words) or "no limit"


def gateway_card(gateway: dict) -> dict[str, Any]:
    """One gateway as the page shows it: every value a string or a number, nothing to format in the browser."""
    words, tone = STATES.get(gateway["state"], (gateway["state"], "warn"))
    if gateway["paused"]:
        words, tone = f"paused ({words})", "off"
    properties = gateway["properties"]
    dbm = properties.get("signal_dbm")
    today = gateway["today"]
    return {
        "name": gateway["name"],
        "state": words,
        "tone": tone,
        "detail": gateway["detail"] or "",
        "bars": bars(dbm),
        "signal": "no signal" if dbm is None else f"{dbm} dBm",
        "operator": properties.get("operator") or "unknown",
        "registration": properties.get("registration") or "unknown",
        "storage": properties.get("storage") or "unknown",
        "sent": f"{today[SENT]} today, {gateway['sent']} in all",
        "failed": f"{today[FAILED]} today, {gateway['failed']} in all",
        "received": f"{today[RECEIVED]} today, {gateway['received']} in all",
        "waiting": gateway["in_send_queue"],
        "limits": limits(gateway),
        "credit": credit(gateway["credit"]),
        # a provider account (gateways/providers/engine.py status) shows these instead of a radio's
        "provider": (properties.get("type") or "") if "host" in properties else "",
        "host": properties.get("host") or "",
        "in_flight": properties.get("in_flight", 0),
        "last_answer": properties.get("last_answer") or "none yet",
    }


def credit(reading: dict | None) -> str:
    """The account's credit in words: the amount and when it was read, and why the latest
    reading failed if it did ("" where the credit is not watched)."""
    if reading is None:
        return ""
    if reading["amount"] is None:
        return f"not read: {reading['error']}" if reading["error"] else "not read yet"
    words = f"{reading['amount']:g} {reading['currency']}".strip()
    words += f" ({time.strftime('%H:%M', time.localtime(reading['at']))})"
    return f"{words}; latest reading failed: {reading['error']}" if reading["error"] else words


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _events() -> list[dict[str, str]]:
    rows = Event.select().order_by(Event.time.desc()).limit(EVENTS_SHOWN)
    return [{"time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.time)), "level": row.level,
             "text": " ".join(part for part in (row.gateway, row.text or row.kind) if part)} for row in rows]


def connector_row(connector: dict, webhooks: dict[str, tuple[int, float | None]], now: float) -> dict[str, Any]:
    """One connector as the page lists it: whether it takes messages, what waits, its webhook backlog."""
    count, first = webhooks.get(connector["name"], (0, None))
    backlog = "" if connector["name"] not in webhooks else (
        "none" if first is None else f"{count}, oldest {_age(now - first)}")
    return {"name": connector["name"], "type": connector["type"],
            "running": "running" if connector["running"] else "stopped",
            "waiting": connector["in_send_queue"], "sent": connector["sent"], "failed": connector["failed"],
            "backlog": backlog}


def view(status: dict, now: float) -> dict[str, Any]:
    """What the dashboard shows, from server_status.collect's dict."""
    queue = status["queue"]
    oldest = queue["oldest_due"]
    return {
        "updated": time.strftime("%H:%M:%S", time.localtime(now)),
        "storage": status["storage"],
        "gateways": [gateway_card(g) for g in status["gateways"]],
        "queue": {"queued": queue["total"], "scheduled": queue["scheduled"], "retrying": queue["retrying"],
                  "sending": status["messages"][MessageState.SENDING],
                  "oldest": "nothing due" if oldest is None else _age(now - oldest)},
        "connectors": [connector_row(c, status["webhooks"], now) for c in status["connectors"]],
        "events": _events(),
    }


class Latest:
    """The dashboard's view, gathered at most once per ``max_age`` seconds for all viewers.

    Every open dashboard polls once a second: without this each further browser would
    add a gathering a second (the event log's read, the queue's index, the gateways'
    status) to the threads that accept messages. Should a gathering ever take long (a
    queue of a hundred thousand waiting), a view is kept for nine times as long as it
    took, so that gathering never takes more than a tenth of one thread's time, and while
    one viewer's request gathers, the others get the last view at once instead of waiting.
    """

    def __init__(self, gather: Callable[[], dict[str, Any]], max_age: float = MAX_AGE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gather = gather
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._view: dict[str, Any] | None = None
        self._until = 0.0  # when the view is due to be gathered again

    def get(self) -> dict[str, Any]:
        view = self._view
        if view is not None and self.clock() < self._until:
            return view
        if view is None:
            self._lock.acquire()  # only the very first viewers wait
        elif not self._lock.acquire(blocking=False):
            return view  # another viewer is gathering
        try:
            if self._view is None or self.clock() >= self._until:
                began = self.clock()
                self._view = self.gather()
                ended = self.clock()
                self._until = ended + max(self.max_age, 9 * (ended - began))
            return self._view
        finally:
            self._lock.release()


def install(app: bottle.Bottle, context: UiContext) -> None:
    latest = Latest(lambda: view(context.server_status(), time.time()))

    @app.get("/")
    @secured
    def dashboard() -> str:
        who = require(context)
        return render("dashboard", visitor=who, **latest.get())

    @app.get("/ui/status.json")
    @secured
    def status_json() -> dict[str, Any]:
        """What the dashboard's script polls. Without a session: 401, and the script goes
        to the login page (a redirect would hand it the login form as JSON)."""
        who = visitor(context)
        if who is None or who.user.must_change_password:
            bottle.response.status = 401
            return {"error": "not logged in, or the password printed at first start is still to be replaced: "
                             "log in at /login"}
        return latest.get()
