"""A plain HTTP SMS provider of the kind the generic ``http`` type is for: ``/send``
takes ``user``, ``pass``, ``to``, ``text``, ``from`` and ``ref`` as a query (GET) or a
form (POST) and answers in text: ``OK ID:<id>`` when it took the message, ``ERROR:
<why>`` otherwise (HTTP 200, as such providers do), and 401 for wrong credentials.
A number whose digits start with 999 does not exist."""

from __future__ import annotations

import itertools
from pathlib import Path

from aiohttp import web

from .server import FakeProvider


class FakeGeneric(FakeProvider):
    def __init__(self, directory: Path, *, user: str = "acme", password: str = "pw") -> None:
        super().__init__(directory)
        self.user = user
        self.password = password
        self._ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/send", self._send), web.post("/send", self._send)]

    async def _send(self, request: web.Request) -> web.Response:
        fields = dict(request.query) if request.method == "GET" else dict(await request.post())  # type: ignore[arg-type]
        if (fields.get("user"), fields.get("pass")) != (self.user, self.password):
            return web.Response(status=401, text="ERROR: bad credentials")
        to = fields.get("to", "")
        if not to.startswith("+") or not to[1:].isdigit() or to.startswith("+999"):
            return web.Response(text=f"ERROR: invalid number {to}")
        ident = f"acme-{next(self._ids)}"
        self.accepted.append({"to": to, "text": fields.get("text", ""), "sender": fields.get("from", ""),
                              "id": ident, "ref": fields.get("ref", ""), "method": request.method})
        return web.Response(text=f"OK ID:{ident}")
