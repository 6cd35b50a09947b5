"""Clickatell's One API as its public documentation describes it: POST /v1/message with
the API key as the Authorization header and a ``messages`` array (channel, to, content,
from), answered 202 (all accepted), 207 (some refused), 400/402 (all refused) or 401 with
a global error; GET /v1/message/{apiMessageId} answers {"sms": {"status", "timestamp"}};
GET /public-client/balance answers {"balance", "currency"}. It keeps no client reference:
a message sent twice is taken twice, as by the real API."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

from aiohttp import web

from provider_fakes.server import FakeProvider

MAX_MESSAGES = 200
NUMBER = re.compile(r"^[1-9][0-9]{6,14}$")


def error(code: int, description: str) -> dict:
    return {"code": code, "description": description}


class FakeClickatell(FakeProvider):
    """``credit``: messages the account can still pay for (one each); ``refused_senders``:
    "from" values the integration does not own; ``statuses``: apiMessageId → status name
    (SENT_TO_SUPPLIER from acceptance until a test says otherwise)."""

    def __init__(self, directory: Path, api_key: str = "key-123") -> None:
        super().__init__(directory)
        self.api_key = api_key
        self.credit = 1000
        self.currency = "EUR"
        self.refused_senders: set[str] = set()
        self.statuses: dict[str, str] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/message", self.send), web.get("/v1/message/{id}", self.status),
                web.get("/public-client/balance", self.balance)]

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != self.api_key:
            return web.json_response({"error": error(1, "Invalid or missing integration API Key")}, status=401)
        return None

    async def send(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            messages = json.loads(await request.read())["messages"]
            assert isinstance(messages, list) and all(isinstance(m, dict) for m in messages)
        except (ValueError, KeyError, TypeError, AssertionError):
            return web.json_response({"error": error(21, "Payload data is malformed")}, status=400)
        if len(messages) > MAX_MESSAGES:
            return web.json_response({"error": error(22, "Maximum messages per request payload exceeded")},
                                     status=400)
        answers = [self._one(message) for message in messages]
        refusals = [answer["error"]["code"] for answer in answers if answer["error"] is not None]
        if not refusals:
            status = 202
        elif len(refusals) < len(answers):
            status = 207
        else:
            status = 402 if all(code == 20 for code in refusals) else 400
        return web.json_response({"messages": answers, "error": None}, status=status)

    def _one(self, message: dict) -> dict:
        to = message.get("to")
        content = message.get("content")
        sender = message.get("from", "")
        problem = None
        if not isinstance(to, str) or not NUMBER.match(to):
            problem = error(25, f"Invalid recipient address: {to}")
        elif not isinstance(content, str) or not content:
            problem = error(23, "Invalid or missing parameter: content")
        elif sender in self.refused_senders:
            problem = error(45, "FROM number is not related to integration")
        elif self.credit < 1:
            problem = error(20, "Insufficient account balance")
        if problem is not None:
            return {"accepted": False, "to": to, "error": problem}
        self.credit -= 1
        message_id = uuid.uuid4().hex
        self.statuses[message_id] = "SENT_TO_SUPPLIER"
        self.accepted.append({"to": to, "text": content, "sender": sender, "id": message_id})
        return {"apiMessageId": message_id, "accepted": True, "to": to, "error": None}

    async def status(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        name = self.statuses.get(request.match_info["id"], "UNKNOWN")
        return web.json_response({"sms": {"status": name, "timestamp": int(time.time() * 1000)}})

    async def balance(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        return web.json_response({"balance": float(self.credit), "currency": self.currency})
