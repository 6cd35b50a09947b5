"""The harness every fake provider runs in: an aiohttp web application on 127.0.0.1 over
HTTPS with a certificate of its own (trusted by the gateway under test through its
``ca_file``), in a thread with its own event loop, so that the appliance's loop is a
real client of a real server. A test makes the next answers faults (429, 5xx, a hang, a
malformed body, a dropped connection) and reads what the provider accepted.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from certificates import make_certificate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Fault:
    """An answer given instead of the provider's own: ``status`` with ``body`` and
    ``headers``; or ``hang`` (no answer until the server stops); or ``drop`` (the
    connection closed without an answer)."""

    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    drop: bool = False


class FakeProvider:
    """A provider's API; a subclass adds its routes (``routes``) and records what it
    accepted in ``accepted`` (one dict per message: to, text, sender, id and what else
    the test needs)."""

    def __init__(self, directory: Path) -> None:
        self.cert, self.key = make_certificate(directory, type(self).__name__.lower())
        self.accepted: list[dict] = []
        self.requests = 0                 # requests that reached the routes, faults included
        self.faults: deque[Fault] = deque()
        self.latency = 0.0                # seconds each answer waits
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.cert)

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def fail_next(self, *faults: Fault) -> None:
        """The next requests get these answers, in order, instead of the provider's."""
        self._loop.call_soon_threadsafe(self.faults.extend, faults)

    def start(self) -> FakeProvider:
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        import ssl

        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._faulty])
        app.add_routes(self.routes())
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        await self._stopping.wait()
        await runner.cleanup()

    @web.middleware
    async def _faulty(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self.faults:
            return await handler(request)
        fault = self.faults.popleft()
        if fault.hang:
            assert self._stopping is not None
            await self._stopping.wait()
        if fault.drop or fault.hang:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
