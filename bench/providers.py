"""Sending through an HTTP SMS provider, end to end: HTTP accept at the gateway, durable,
sent to the provider, the provider's OK. The appliance with one ``[[provider]]`` account
against Kannel (Debian's ``kannel``, a generic HTTP SMSC: bench/kannel_peer.py), taking
turns in one run, both sending to the same fake provider (bench/provider_fake.py, its
own process) and driven by the same client (:func:`drive`).

Turns, each with N messages of one part to N distinct numbers:

- ``loop``: one message per submit request, K client connections;
- ``batch``: B recipients per submit request (the appliance's ``to=a;b;c``, Kannel's
  space-separated ``to``), K connections; the gateway sends them as its pattern says;
- with the provider answering after ``--latency`` ms (100 by default): the rate for each
  ``--concurrency`` (requests in flight to the provider: ``max-pending-submits`` for
  Kannel, ``concurrency`` for the appliance), loop.

Measured from the first submit to the fake having accepted all N (its ``/count``,
distinct recipients): messages per second, and the CPU seconds per 1,000 messages of the
gateway's processes (/proc/<pid>/stat: bearerbox and smsbox; the appliance service).
Also, each run: the fake's own rate under wrk, to show it is not the bottleneck.

Reproduce with ``make bench-providers`` (installs Debian's kannel and wrk if missing);
``PROVIDERS_ARGS="--only kannel"`` runs one side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import kannel_peer
from bench.provider_fake import FakeProvider
from bench.service_runner import PASSWORD, USER, Appliance, cpu_seconds, wait
from bench.wsgi_servers import run_wrk

TEXT = "bench message"
# A submit request for some recipients: (method, path with query, form body)
Build = Callable[[list[str], str], tuple[str, str, bytes]]
SIDES = ("kannel", "appliance")


@dataclass(frozen=True)
class Gateway:
    """A gateway under test, running: who it is to the fake, where its submit API is, how
    a submit request is built, and the CPU seconds its processes have used so far."""

    side: str
    address: tuple[str, int]
    build: Build
    cpu: Callable[[], float]


@dataclass
class Turn:
    """One measured turn of one gateway."""

    side: str
    mode: str              # loop | batch
    latency_ms: float
    concurrency: int       # requests in flight to the provider
    messages: int
    seconds: float         # first submit to the fake's OK for the last message
    submit_seconds: float  # first submit to the gateway's answer to the last submit
    cpu_seconds: float     # of the gateway's processes over the turn
    duplicates: int        # messages the fake accepted more than once

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu_seconds / self.messages * 1000


def numbers(count: int) -> list[str]:
    """Distinct recipients (UK drama range), one per message."""
    return [f"+4477009{n:05d}" for n in range(count)]


def requests(build: Build, recipients: list[str], per_request: int) -> Iterator[tuple[str, str, bytes]]:
    for start in range(0, len(recipients), per_request):
        yield build(recipients[start:start + per_request], TEXT)


async def _client(address: tuple[str, int], work: Iterator[tuple[str, str, bytes]]) -> None:
    """One keep-alive connection: the next request as soon as the last was answered."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        for method, path, body in work:
            head = f"{method} {path} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
            if body:
                head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"\r\n" + body)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header.split(b" ", 2)[1])
            lowered = header.lower()
            length = int(lowered.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0]) \
                if b"content-length:" in lowered else None
            answer = await (reader.readexactly(length) if length is not None else reader.read())
            if not 200 <= status < 300:
                raise RuntimeError(f"{method} {path[:80]}...: HTTP {status} {answer[:200]!r}")
            if length is None or b"connection: close" in lowered:
                writer.close()
                reader, writer = await asyncio.open_connection(*address)
    finally:
        writer.close()


def drive(address: tuple[str, int], build: Build, recipients: list[str], per_request: int, clients: int) -> float:
    """Submit a message to each of ``recipients`` through ``clients`` connections, each
    request built by ``build`` for ``per_request`` of them; seconds until the last answer.
    The same driver for every gateway: only ``build`` and the address differ."""
    work = requests(build, recipients, per_request)  # one iterator: shared, each request once

    async def run() -> None:
        await asyncio.gather(*(_client(address, work) for _ in range(clients)))

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def measure(gateway: Gateway, mode: str, fake: FakeProvider, *, messages: int, per_request: int, clients: int,
            latency_ms: float, concurrency: int) -> Turn:
    """One turn: the fake's counts reset, N messages driven, until the fake accepted them all."""
    side, address, build, cpu = gateway.side, gateway.address, gateway.build, gateway.cpu
    fake.reset()
    recipients = numbers(messages)
    deadline = max(120.0, messages / max(concurrency * 1000 / max(latency_ms, 1), 1) * 3)
    cpu_before = cpu()
    start = time.perf_counter()
    submit_seconds = drive(address, build, recipients, per_request, clients)
    wait(lambda: fake.counts(side)["distinct"] >= messages, deadline, f"{side}: all {messages} at the provider",
         interval=0.02)
    seconds = time.perf_counter() - start
    cpu_seconds = cpu() - cpu_before
    counts = fake.counts(side)
    return Turn(side, mode, latency_ms, concurrency, messages, seconds, submit_seconds, cpu_seconds,
                counts["accepted"] - counts["distinct"])


def warm_up(gateway: Gateway, fake: FakeProvider) -> None:
    """One message through, end to end: the gateway is up and connected to the provider."""
    fake.reset()
    drive(gateway.address, gateway.build, ["+447700900999"], 1, 1)
    wait(lambda: fake.counts(gateway.side)["distinct"] >= 1, 60, f"{gateway.side}'s first message at the provider",
         interval=0.05)


def turn_messages(args: argparse.Namespace, latency_ms: float, concurrency: int) -> int:
    """N for a turn: ``--messages``, or with latency as many as take ``--seconds`` at the
    ideal rate (concurrency answers per latency), so that a turn stays short."""
    if latency_ms == 0:
        return args.messages
    return min(args.messages, int(concurrency * 1000 / latency_ms * args.seconds))


def plans(args: argparse.Namespace) -> list[tuple[float, int, list[str]]]:
    """(latency ms, concurrency, modes) of each fake provider a side is run against."""
    return [(0.0, args.concurrency_zero, ["loop", "batch"])] + [
        (args.latency, concurrency, ["loop"]) for concurrency in args.concurrency]


def kannel_turns(workdir: Path, args: argparse.Namespace) -> list[Turn]:
    """Kannel's turns: a fresh bearerbox and smsbox for each fake and concurrency."""
    turns = []
    for latency_ms, concurrency, modes in plans(args):
        fake = FakeProvider(latency_ms)
        kannel = None
        try:
            kannel = kannel_peer.Kannel(workdir / f"kannel-{latency_ms:g}-{concurrency}",
                                        fake.url("kannel"), concurrency)
            gateway = Gateway("kannel", kannel.address, kannel.request, kannel.cpu)
            warm_up(gateway, fake)
            for mode in modes:
                turns.append(measure(gateway, mode, fake, messages=turn_messages(args, latency_ms, concurrency),
                                     per_request=args.batch if mode == "batch" else 1,
                                     clients=args.clients, latency_ms=latency_ms, concurrency=concurrency))
                print(json.dumps(asdict(turns[-1])), flush=True)
        finally:
            if kannel is not None:
                kannel.stop()
            fake.stop()
    return turns


def provider_table(fake: FakeProvider, mode: str, concurrency: int, batch: int) -> str:
    """The appliance's one provider account on the fake: the generic ``http`` type (one
    message a request) for loop; for batch a type whose API takes many recipients a
    request, SMSAPI's (the fake answers its ``sms.do``)."""
    if mode == "loop":
        return (f'[[provider]]\nname = "Provider"\ntype = "http"\nbase_url = "{fake.url("appliance")}"\n'
                'method = "GET"\nparameters = "to={to}&from={sender}&text={text}&id={id}"\n'
                'success_pattern = "^OK"\nid_pattern = "^OK (.+)$"\n'
                f'sender = "{kannel_peer.SENDER}"\nconcurrency = {concurrency}\ntimeout = 60\n')
    return (f'[[provider]]\nname = "Provider"\ntype = "smsapi"\n'
            f'base_url = "http://127.0.0.1:{fake.port}/appliance"\ntoken = "bench-token"\n'
            f'pattern = "batch"\nbatch_size = {batch}\nsender = "{kannel_peer.SENDER}"\n'
            f'concurrency = {concurrency}\ntimeout = 60\n')


def submit(recipients: list[str], text: str) -> tuple[str, str, bytes]:
    """send-message for ``recipients`` (several: ``to=a;b;c``, one message each)."""
    body = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "to": ";".join(recipients),
                                   "message": text, "from": kannel_peer.SENDER}).encode()
    return "POST", "/http/send-message", body


def appliance_turns(workdir: Path, args: argparse.Namespace) -> list[Turn]:
    """The appliance's turns, the same plan as Kannel's: a fresh service for each fake,
    concurrency and mode (loop and batch are two provider types), with one ``[[provider]]``
    account and no modem (bench/service_runner.py)."""
    turns = []
    for latency_ms, concurrency, modes in plans(args):
        fake = FakeProvider(latency_ms)
        try:
            for mode in modes:
                folder = workdir / f"appliance-{latency_ms:g}-{concurrency}-{mode}"
                folder.mkdir(parents=True)
                service = Appliance(folder, (), extra=provider_table(fake, mode, concurrency, args.batch))
                try:
                    pid = service.pid
                    gateway = Gateway("appliance", ("127.0.0.1", service.port), submit,
                                      lambda pid=pid: cpu_seconds(pid))  # type: ignore[misc]
                    warm_up(gateway, fake)
                    turns.append(measure(gateway, mode, fake, messages=turn_messages(args, latency_ms, concurrency),
                                         per_request=args.batch if mode == "batch" else 1, clients=args.clients,
                                         latency_ms=latency_ms, concurrency=concurrency))
                    print(json.dumps(asdict(turns[-1])), flush=True)
                finally:
                    service.stop()
        finally:
            fake.stop()
    return turns


def fake_capacity(seconds: int) -> float:
    """Requests per second the fake answers under wrk (8 connections, zero latency)."""
    fake = FakeProvider(0.0)
    try:
        return run_wrk(f"{fake.url('wrk')}?to=%2B447700900123&from=Bench&text=bench+message&id=1", 8, seconds)
    finally:
        fake.stop()


def table(turns: Sequence[Turn]) -> str:
    lines = ["| gateway | mode | provider latency | concurrency | messages | msg/s | "
             "CPU s per 1,000 msgs | submits done after | duplicates |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for turn in turns:
        lines.append(f"| {turn.side} | {turn.mode} | {turn.latency_ms:g} ms | {turn.concurrency} | {turn.messages} "
                     f"| {turn.rate:,.0f} | {turn.cpu_per_1000:.2f} | {turn.submit_seconds:.2f} s "
                     f"| {turn.duplicates} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=SIDES, help="one side alone")
    parser.add_argument("--messages", type=int, default=20_000, help="per zero-latency turn")
    parser.add_argument("--clients", type=int, default=8, help="submitting connections")
    parser.add_argument("--batch", type=int, default=100, help="recipients per submit request, batch turns")
    parser.add_argument("--concurrency-zero", type=int, default=4,
                        help="requests in flight to the provider, zero-latency turns (the appliance's default)")
    parser.add_argument("--latency", type=float, default=100.0, help="ms, the latency turns")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 64], help="the latency turns")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="latency turns: messages for about this long at the ideal rate")
    args = parser.parse_args(argv)
    sides = [args.only] if args.only else list(SIDES)
    if "kannel" in sides and kannel_peer.missing():
        print(f"{', '.join(kannel_peer.missing())} missing: apt-get install kannel", file=sys.stderr)
        return 2
    capacity = fake_capacity(3)
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory() as tmp:
        for side in sides:
            workdir = Path(tmp) / side
            workdir.mkdir()
            turns += (kannel_turns if side == "kannel" else appliance_turns)(workdir, args)
    print(f"{platform.machine()}, Python {platform.python_version()}, {args.clients} submitting connections, "
          f"batch {args.batch} recipients a request; the fake provider alone: {capacity:,.0f} requests/s under wrk")
    print(table(turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
