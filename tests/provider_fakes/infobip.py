"""A fake Infobip SMS API, from Infobip's public API documentation: ``POST
/sms/2/text/advanced`` (many messages, each with its destinations and an optional
client ``messageId``), ``GET /sms/1/logs`` by messageId, ``GET /account/1/balance``;
``Authorization: App <key>`` or Basic; status objects {groupId, groupName, id, name,
description}; errors as {"requestError": {"serviceException": {messageId, text}}}.

Like Infobip, it refuses a messageId it has taken before (REJECTED_DUPLICATE_MESSAGE_ID).
A destination of fewer than 8 digits is REJECTED_DESTINATION, a sender in
``blocked_senders`` REJECTED_SENDER, and a message the balance cannot pay
REJECTED_NOT_ENOUGH_CREDITS.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from provider_fakes.server import FakeProvider

PENDING_ACCEPTED = {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
                    "description": "Message sent to next instance"}
DELIVERED_TO_HANDSET = {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET",
                        "description": "Message delivered to handset"}
UNDELIVERABLE_NOT_DELIVERED = {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                               "name": "UNDELIVERABLE_NOT_DELIVERED", "description": "Message sent not delivered"}
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "description": "No Error",
            "permanent": False}
ABSENT_SUBSCRIBER = {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 27, "name": "EC_ABSENT_SUBSCRIBER",
                     "description": "Absent Subscriber", "permanent": False}


def rejected(id: int, name: str, description: str) -> dict[str, Any]:
    return {"groupId": 5, "groupName": "REJECTED", "id": id, "name": name, "description": description}


def request_error(status: int, message_id: str, text: str) -> web.Response:
    return web.json_response({"requestError": {"serviceException": {"messageId": message_id, "text": text}}},
                             status=status)


class FakeInfobip(FakeProvider):
    PRICE = 0.01   # EUR per message

    def __init__(self, directory: Path, *, api_key: str = "key-1", balance: float = 10.0) -> None:
        super().__init__(directory)
        self.api_key = api_key
        self.username, self.password = "user", "secret"
        self.credit = balance
        self.blocked_senders: set[str] = set()
        self.logs: dict[str, dict[str, Any]] = {}      # messageId → its log entry
        self._ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sms/2/text/advanced", self._send), web.get("/sms/1/logs", self._logs),
                web.get("/account/1/balance", self._balance)]

    def deliver(self, message_id: str, *, delivered: bool = True) -> None:
        """The operator's report for ``message_id`` arrives: delivered, or not."""
        entry = self.logs[message_id]
        entry["status"] = DELIVERED_TO_HANDSET if delivered else UNDELIVERABLE_NOT_DELIVERED
        entry["error"] = NO_ERROR if delivered else ABSENT_SUBSCRIBER

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header in (f"App {self.api_key}", f"Basic {basic}")

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return request_error(401, "UNAUTHORIZED", "Invalid login details")
        try:
            body = json.loads(await request.read())
            messages = body["messages"]
            assert isinstance(messages, list) and messages
        except (ValueError, KeyError, TypeError, AssertionError):
            return request_error(400, "BAD_REQUEST", "Bad request")
        answers = []
        bulk = f"bulk-{next(self._ids)}"
        for message in messages:
            for destination in message.get("destinations", []):
                answers.append(self._one(bulk, message, destination))
        return web.json_response({"bulkId": bulk, "messages": answers})

    def _one(self, bulk: str, message: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
        to = str(destination.get("to", ""))
        message_id = str(destination.get("messageId") or f"ib-{next(self._ids)}")
        sender = message.get("from", "")
        if message_id in self.logs:
            status = rejected(23, "REJECTED_DUPLICATE_MESSAGE_ID", "Duplicate message id")
        elif not to.isdigit() or len(to) < 8:
            status = rejected(52, "REJECTED_DESTINATION", "Invalid destination address")
        elif sender in self.blocked_senders:
            status = rejected(13, "REJECTED_SENDER", "Sender blocked")
        elif self.credit < self.PRICE:
            status = rejected(12, "REJECTED_NOT_ENOUGH_CREDITS", "Not enough credits")
        else:
            status = PENDING_ACCEPTED
            self.credit -= self.PRICE
            self.accepted.append({"to": to, "text": message.get("text", ""), "sender": sender, "id": message_id})
            self.logs[message_id] = {"bulkId": bulk, "messageId": message_id, "to": to, "from": sender,
                                     "text": message.get("text", ""), "smsCount": 1, "status": status,
                                     "error": NO_ERROR}
        return {"to": to, "status": status, "messageId": message_id}

    async def _logs(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return request_error(401, "UNAUTHORIZED", "Invalid login details")
        wanted = request.query.getall("messageId", [])
        limit = int(request.query.get("limit", "50"))
        results = [self.logs[id] for id in wanted if id in self.logs][:limit]
        return web.json_response({"results": results})

    async def _balance(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return request_error(401, "UNAUTHORIZED", "Invalid login details")
        return web.json_response({"balance": round(self.credit, 5), "currency": "EUR"})
