"""Send a test SMS from a form (``/send``), and the count of parts the form shows as the
person types (``POST /ui/count.json``).

The form queues through web/submission.py, as both APIs do: the same checks, the same
messages naming the field, the same per-user limits and block list. The count comes from
the PDU codec (``pdu.count``), the one the modem driver splits messages with, so the page
never says one part where the modem sends two; the script asks the server for it instead
of keeping a second GSM 7-bit table in JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import bottle

from ... import pdu
from ...accounts.users import Principal
from ..diafaan.common import MESSAGE_REJECTED, HttpApiContext
from ..submission import JSON_NAMES, Fields, SubmissionError, build, commit, screen
from .pages import UiContext, Visitor, form, redirect, render, require, secured, visitor

# a test SMS is a few parts: this keeps the form, percent-encoded UCS-2 included, under pages.MAX_FORM
MAX_TEXT = 1600
# what the form calls the fields, so that an error names the field the person filled in
NAMES: Mapping[str, str] = {**JSON_NAMES, "to": "number", "message": "text", "gateways": "gateway"}
ENCODINGS = {"gsm7": "GSM 7-bit", "ucs2": "UCS-2"}


class TooLong(SubmissionError):
    """A text longer than the form takes."""


def counted(text: str) -> dict[str, Any]:
    """What the form shows under the text: parts, encoding and characters left in the last
    part, as the codec splits the text. :class:`TooLong` above MAX_TEXT characters."""
    if len(text) > MAX_TEXT:
        raise TooLong(MESSAGE_REJECTED, NAMES["message"],
                      f"{NAMES['message']}: {len(text)} characters; a test SMS holds at most {MAX_TEXT}")
    count = pdu.count(text)
    return {"characters": len(text), "parts": count.parts, "encoding": ENCODINGS.get(count.encoding, count.encoding),
            "left": count.remaining, "per_part": count.per_part}


def _principal(who: Visitor) -> Principal:
    """The logged-in user as the submission path knows a caller: its limits and guids are the user's."""
    return Principal(who.user.id, who.user.name, who.user.is_admin)


def _queue(http: HttpApiContext, who: Visitor, number: str, text: str, gateway: str) -> str:
    """The new message's public id, queued as the APIs queue; SubmissionError says why not."""
    counted(text)  # the form's own bound, before anything else is read from the text
    known = http.gateway_names()
    if gateway and gateway not in known:
        raise SubmissionError(MESSAGE_REJECTED, NAMES["gateways"],
                              f"{NAMES['gateways']}: {gateway!r} is not a configured gateway")
    fields = Fields(to=[number] if number.strip() else [], message=text, gateways=[gateway] if gateway else [])
    messages = build(fields, _principal(who), names=NAMES, known_gateways=known, connector=http.connector,
                     country_code=http.country_code)
    messages, _ = screen(messages, names=NAMES)
    ids, new = commit(http.queue, messages, names=NAMES, capacity=http.capacity)
    if new:
        http.on_accepted()
    return ids[0]


def install(app: bottle.Bottle, context: UiContext, http: HttpApiContext) -> None:
    def page(who: Visitor, status: int = 200, *, number: str = "", text: str = "", gateway: str = "",
             error: str = "", field: str = "") -> str:
        try:
            count = counted(text)
        except TooLong:
            count = counted("")
        return render("send", status, visitor=who, gateways=list(http.gateway_names()), number=number, text=text,
                      gateway=gateway, error=error, field=field, count=count, max_text=MAX_TEXT)

    @app.get("/send")
    @secured
    def send_form() -> str:
        return page(require(context))

    @app.post("/send")
    @secured
    def send() -> str:
        who = require(context)
        fields = form(who)
        number, text, gateway = (fields.getunicode(name) or "" for name in ("number", "text", "gateway"))
        try:
            message_id = _queue(http, who, number, text, gateway.strip())
        except SubmissionError as error:
            # DiskFull too: the store has no room, which the person can only wait out
            status = 503 if error.field is None else 422
            return page(who, status, number=number, text=text, gateway=gateway, error=error.text,
                        field=error.field or "")
        redirect(f"/messages/{quote(message_id, safe='')}")

    @app.post("/ui/count.json")
    @secured
    def count_json() -> dict[str, Any]:
        """The form's count as the person types. Session-checked and CSRF-checked like a
        form, so that it is no free counting service for other sites' pages."""
        who = visitor(context)
        if who is None or who.user.must_change_password:
            bottle.response.status = 401
            return {"error": "not logged in, or the password printed at first start is still to be replaced: "
                             "log in at /login"}
        text = form(who).getunicode("text") or ""
        try:
            return counted(text)
        except TooLong as error:
            bottle.response.status = 413
            return {"error": error.text, "field": error.field}
