"""A fast fake HTTP SMS provider for bench/providers.py, in a process of its own, so that
the gateways measured (the appliance, Kannel) share it and neither pays for it.

Plain HTTP/1.1 with keep-alive on 127.0.0.1, written on bare asyncio (no framework):
the bench measures the gateways, not TLS nor a web framework, and must not be limited by
the fake (bench/providers.py measures its rate with wrk in every run). Both gateways can
speak HTTPS to a provider; leaving it out takes the same cost away from both.

Each client sends under a path prefix of its own, ``/<client>/...``, so that one fake
counts the appliance's messages apart from Kannel's:

- ``GET|POST /<client>/send?to=..&text=..&from=..&id=..`` (query or form body): one
  message, answered ``OK <id>`` (a generic HTTP provider, as Kannel's ``system-type =
  generic`` and the appliance's ``type = "http"`` speak it);
- ``POST /<client>/sms.do`` with ``to=a,b,c`` and ``idx=i|j|k`` (SMSAPI's form, JSON
  answer): many recipients a request, for the batch pattern;
- ``GET /count``: JSON ``{client: {"accepted", "distinct", "requests"}}``: messages
  answered OK, distinct recipients among them (a gap to ``accepted`` is a message sent
  twice), requests;
- ``POST /reset``: forget the counts (between runs).

``--latency MS`` delays every send answer by that much (not the counting requests). A
message counts as accepted when its answer is written, as a provider's acceptance is
what the gateway waits for. Started by :class:`FakeProvider`, which reads the port the
process prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_REQUEST = 1 << 20  # bytes of one request, headers and body: a bound on memory
# the recipient of a one-message send, as sent (still URL-encoded: counted, not read)
RECIPIENT = re.compile(r"(?:^|&)to=([^&]+)")
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)")


@dataclass
class Counts:
    """What one client had accepted."""

    accepted: int = 0
    requests: int = 0
    recipients: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "distinct": len(self.recipients), "requests": self.requests}


class Provider:
    """The fake's state and its answers, apart from the wire."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.counts: dict[str, Counts] = {}
        self.next_id = 0

    def answer(self, method: str, target: str, body: bytes) -> tuple[int, str, bytes, Callable[[], None] | None]:
        """(status, content type, body, what counts the messages once the answer goes out:
        None for an answer that is not a send's OK, and is not delayed)."""
        path, _, query = target.partition("?")
        if path == "/count" and method == "GET":
            counts = {client: c.as_dict() for client, c in self.counts.items()}
            return 200, "application/json", json.dumps(counts).encode(), None
        if path == "/reset" and method == "POST":
            self.counts.clear()
            return 200, "text/plain", b"OK", None
        client, _, endpoint = path.lstrip("/").partition("/")
        form = f"{query}&{body.decode('utf-8', 'replace')}" if body else query
        if endpoint == "send":
            recipient = RECIPIENT.search(form)
            if recipient:
                self.next_id += 1
                return 200, "text/plain", f"OK {self.next_id}".encode(), self._counter(client, [recipient.group(1)])
        fields = urllib.parse.parse_qs(form)
        if endpoint == "sms.do" and fields.get("to"):
            numbers = fields["to"][0].split(",")
            references = fields.get("idx", [""])[0].split("|")
            references = (references + [""] * len(numbers))[:len(numbers)]
            items = []
            for number, reference in zip(numbers, references, strict=True):
                self.next_id += 1
                items.append({"id": str(self.next_id), "points": 0.16, "number": number,
                              "status": "QUEUED", "idx": reference})
            answer = json.dumps({"count": len(items), "list": items}).encode()
            return 200, "application/json", answer, self._counter(client, numbers)
        return 404, "text/plain", b"ERR unknown request", None

    def _counter(self, client: str, numbers: list[str]) -> Callable[[], None]:
        counts = self.counts.setdefault(client, Counts())
        counts.requests += 1

        def count() -> None:
            counts.accepted += len(numbers)
            counts.recipients.update(numbers)
        return count


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: requests parsed from the buffer as they come,
    answered in order (a client waits for each answer before the next request)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_REQUEST:
                    self._close()
                return
            head = self.buffer[:end].lower()
            found = CONTENT_LENGTH.search(head)
            length = int(found.group(1)) if found else 0
            if end + 4 + length > MAX_REQUEST:
                self._close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            first = self.buffer[:self.buffer.index(b"\r\n")].decode("latin-1")
            self.buffer = self.buffer[end + 4 + length:]
            method, target, version = first.split(" ", 2)
            close = b"\r\nconnection: close" in head or version == "HTTP/1.0"
            status, kind, answer, count = self.provider.answer(method, target, body)
            write = self._writer(status, kind, answer, close, count)
            if count is not None and self.provider.latency > 0:
                asyncio.get_running_loop().call_later(self.provider.latency, write)
            else:
                write()

    def _writer(self, status: int, kind: str, body: bytes, close: bool,
                count: Callable[[], None] | None) -> Callable[[], None]:
        def write() -> None:
            if self.transport is None or self.transport.is_closing():
                return  # the client left before the answer: nothing was accepted
            if count is not None:
                count()
            reason = "OK" if status == 200 else "Not Found"
            ending = "Connection: close\r\n\r\n" if close else "\r\n"
            self.transport.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                                 f"Content-Length: {len(body)}\r\n{ending}".encode() + body)
            if close:
                self._close()
        return write

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, latency: float) -> None:
    provider = Provider(latency)
    server = await asyncio.get_running_loop().create_server(lambda: Connection(provider), "127.0.0.1", port,
                                                            backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


class FakeProvider:
    """``python bench/provider_fake.py`` as a child process, and its counts."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__)), "--latency", str(latency_ms)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None  # piped
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError("the fake provider did not start")
        self.port = int(line)
        self.pid = self.process.pid

    def url(self, client: str, endpoint: str = "send") -> str:
        return f"http://127.0.0.1:{self.port}/{client}/{endpoint}"

    def counts(self, client: str) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=10) as answer:
            return json.load(answer).get(client, {"accepted": 0, "distinct": 0, "requests": 0})

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.port}/reset", method="POST"),
                               timeout=10).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on stdout)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS", help="delay of each send answer")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.latency / 1000))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
