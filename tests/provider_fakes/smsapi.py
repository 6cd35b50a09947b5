"""SMSAPI as its public API documentation describes it: ``sms.do`` sends one text to
comma-separated recipients (format=json, idx with check_idx) and tells statuses,
``/profile`` (OAuth) and ``user.do?credits=1`` (legacy) the points left; its error
answers are ``{"error": code, "message": ...}``.

The fake's own rules, for the tests: a number whose digits start with 999 does not
exist; a message costs 0.16 points a recipient; ``senders`` are the sender names the
account may use."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from aiohttp import web

from .server import FakeProvider

PRICE = 0.16


class FakeSmsApi(FakeProvider):
    def __init__(self, directory: Path, *, token: str = "", username: str = "", password: str = "",
                 points: float = 100.0, senders: tuple[str, ...] = ("Clinic",)) -> None:
        super().__init__(directory)
        self.token = token
        self.username = username
        self.password_md5 = hashlib.md5(password.encode()).hexdigest() if password else ""
        self.points = points
        self.senders = set(senders)
        self.statuses: dict[str, str] = {}      # id -> QUEUE, DELIVERED, ...; a test sets them
        self.idx_seen: set[str] = set()
        self._ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sms.do", self._sms), web.get("/profile", self._profile), web.post("/user.do", self._user)]

    def _authorized(self, request: web.Request, form: dict[str, str]) -> web.Response | None:
        """None for the account's credentials; else SMSAPI's answer to wrong ones."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if self.token and header[len("Bearer "):] == self.token:
                return None
            return web.json_response({"error": 101, "message": "Authorization failed"}, status=401)
        if self.username and (form.get("username"), form.get("password")) == (self.username, self.password_md5):
            return None
        return web.json_response({"error": 101, "message": "Invalid authorization info"})

    async def _sms(self, request: web.Request) -> web.Response:
        form = dict(await request.post())  # type: ignore[arg-type]
        refused = self._authorized(request, form)
        if refused is not None:
            return refused
        if "status" in form:
            return self._status(form["status"].split("|"))
        return self._send(form)

    def _send(self, form: dict[str, str]) -> web.Response:
        numbers = [n for n in form.get("to", "").split(",") if n]
        idx = form["idx"].split("|") if form.get("idx") else [""] * len(numbers)
        if not form.get("message"):
            return _error(11, "Message too long or there is no message")
        if len(idx) != len(numbers):
            return _error(20, "Invalid number of IDX parameters")
        if form.get("from") and form["from"] not in self.senders:
            return _error(14, "Wrong sender name")
        if form.get("check_idx") == "1" and any(i in self.idx_seen for i in idx if i):
            return _error(53, "Not unique idx parameter, message with the same idx has been already sent "
                              "and &check_idx=1.")
        good = [(n, i) for n, i in zip(numbers, idx, strict=True) if _exists(n)]
        invalid = [{"number": n, "submitted_number": n, "message": "Invalid phone number"}
                   for n in numbers if not _exists(n)]
        if not good:
            return web.json_response({"error": 13, "message": "No correct phone numbers",
                                      "invalid_numbers": invalid})
        if self.points < PRICE * len(good):
            return _error(103, "Insufficient credits on Your account")
        self.points -= PRICE * len(good)
        listed = []
        for number, i in good:
            ident = f"{next(self._ids):024X}"
            self.statuses[ident] = "QUEUE"
            self.idx_seen.add(i)
            self.accepted.append({"to": number, "text": form["message"], "sender": form.get("from", ""),
                                  "id": ident, "idx": i, "encoding": form.get("encoding", "")})
            listed.append({"id": ident, "points": PRICE, "number": number, "date_sent": 1700000000,
                           "submitted_number": number, "status": "QUEUE", "error": None, "idx": i})
        answer: dict = {"count": len(listed), "list": listed, "message": form["message"],
                        "length": len(form["message"]), "parts": 1}
        if invalid:
            answer["invalid_numbers"] = invalid
        return web.json_response(answer)

    def _status(self, ids: list[str]) -> web.Response:
        known = [i for i in ids if i in self.statuses]
        if not known:
            return _error(301, "ID of messages doesn't exist")
        return web.json_response({"count": len(known), "list": [
            {"id": i, "number": "", "status": self.statuses[i], "points": PRICE, "error": None, "idx": None}
            for i in known]})

    async def _profile(self, request: web.Request) -> web.Response:
        refused = self._authorized(request, {})
        if refused is not None:
            return refused
        return web.json_response({"name": "Clinic", "email": "office@example.org", "username": "clinic",
                                  "phone_number": "48500000000", "payment_type": "prepaid",
                                  "user_type": "native", "points": round(self.points, 2)})

    async def _user(self, request: web.Request) -> web.Response:
        form = dict(await request.post())  # type: ignore[arg-type]
        refused = self._authorized(request, form)
        if refused is not None:
            return refused
        return web.json_response({"points": round(self.points, 2)})


def _exists(number: str) -> bool:
    return number.isdigit() and not number.startswith("999")


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message})
