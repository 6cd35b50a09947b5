"""Twilio's Messages and Balance resources as its public documentation describes them: HTTP
Basic auth with the account SID and auth token, form-encoded sends answered 201 with the
Message resource, errors as {code, message, more_info, status}. Twilio keeps no client
reference, so the fake takes a repeated send as a new message, as Twilio does."""

from __future__ import annotations

import base64
import re
import secrets

from aiohttp import web

from .server import FakeProvider

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
MAX_BODY = 1600


def error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message,
                              "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
                             status=status)


class FakeTwilio(FakeProvider):
    """One Twilio account. A test sets ``unsubscribed`` (recipients who replied STOP),
    ``disabled_prefixes`` (destinations outside the Geo Permissions), ``balance`` and a
    message's status with ``set_status``."""

    account_sid = ACCOUNT_SID
    auth_token = AUTH_TOKEN

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.unsubscribed: set[str] = set()
        self.disabled_prefixes: tuple[str, ...] = ()
        self.balance = "12.34"
        self.messages: dict[str, dict] = {}

    def routes(self) -> list[web.RouteDef]:
        base = "/2010-04-01/Accounts/{account}"
        return [web.post(base + "/Messages.json", self._create),
                web.get(base + "/Messages/{sid}.json", self._fetch),
                web.get(base + "/Balance.json", self._balance)]

    def set_status(self, sid: str, status: str, error_code: int | None = None,
                   error_message: str | None = None) -> None:
        def change() -> None:
            self.messages[sid].update(status=status, error_code=error_code, error_message=error_message)
        self._loop.call_soon_threadsafe(change)

    def _authenticated(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (request.headers.get("Authorization") == f"Basic {expected}"
                and request.match_info["account"] == self.account_sid)

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authenticated(request):
            return error(401, 20003, "Authenticate")
        form = await request.post()
        to, sender, body = (str(form.get(name, "")) for name in ("To", "From", "Body"))
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if not E164.match(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to in self.unsubscribed:
            return error(400, 21610, "Attempt to send to unsubscribed recipient")
        if to.startswith(self.disabled_prefixes):
            return error(400, 21408, f"Permission to send an SMS has not been enabled for the region indicated "
                                     f"by the 'To' number: {to}")
        sid = "SM" + secrets.token_hex(16)
        message = {"sid": sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": body,
                   "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
                   "num_segments": "1", "error_code": None, "error_message": None,
                   "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}
        self.messages[sid] = message
        self.accepted.append({"to": to, "text": body, "sender": sender, "id": sid})
        return web.json_response(message, status=201)

    async def _fetch(self, request: web.Request) -> web.Response:
        if not self._authenticated(request):
            return error(401, 20003, "Authenticate")
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return error(404, 20404, "The requested resource was not found")
        return web.json_response(message)

    async def _balance(self, request: web.Request) -> web.Response:
        if not self._authenticated(request):
            return error(401, 20003, "Authenticate")
        return web.json_response({"account_sid": self.account_sid, "balance": self.balance, "currency": "USD"})
