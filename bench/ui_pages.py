"""The web pages with a large store, and the API's send rate while dashboards stay open.

1. Pages: a store filled in bulk (bench/metrics_scrape.py's ``fill``: ``--messages``
   outbound messages created over 100 days, most sent or delivered, one in seven failed,
   ``--queued`` waiting, a tenth as many received), an administrator logged in through
   ``POST /login`` and its session cookie reused; then each page is called ``--requests``
   times in-process on the real bottle app (a WSGI call, no network: the server's own
   time) and its p50 and p99 printed: the dashboard ``/``, what its script polls
   ``/ui/status.json``, ``/messages``, ``/messages?before=`` a cursor nine tenths down the
   list, ``/received`` and a message's page.

   The dashboard hands out a view gathered at most every ``max(0.5 s, 9 x the gathering's
   time)`` (web/ui/dashboard.py, ``Latest``), so its requests mostly read that view. The
   gathering itself is therefore timed too, called directly and uncached
   (``--gathers`` times): what the one request that finds the view stale pays.

2. send-message with and without open dashboards: the real service
   (bench/service_runner.py) on two simulated modems, over a copy of the same store
   (``--empty-service-store``: a new one), loaded by wrk's send-message
   (bench/http_load.py) for ``--seconds``; turns alternate without and with
   ``--pollers`` logged-in clients each GETting /ui/status.json once a second, as the
   page's script does (static/ui.js), ``--turns`` times each. Prints each turn's
   rate, the means and their ratio.

Quick check (20,000 messages, a few seconds): ``python bench/ui_pages.py``. The run in
bench/RESULTS.md:

    python bench/ui_pages.py --messages 1000000 --data /tmp/bench-ui-1m --requests 200 \\
        --seconds 30 --turns 3

The store is kept in ``--data`` (default: a temporary folder) and reused when it already
holds the messages: filling a million and checkpointing it takes a while.
"""

from __future__ import annotations

import argparse
import http.client
import io
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.control import server_status
from appliance.store import db as store_db
from appliance.store.models import OutboundMessage
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.ui import dashboard
from appliance.web.ui.pages import COOKIE
from bench.http_load import wrk
from bench.metrics_scrape import GATEWAYS, fill, service_parts
from bench.service_runner import PASSWORD, USER, Appliance, Simulator, wait

ADMIN = "bench-admin"
DAYS = 100


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def call(app: Callable, method: str, path: str, cookie: str = "", body: bytes = b"") -> tuple[str, list, bytes]:
    """One request to the WSGI app: its status line, headers and body."""
    target = urllib.parse.urlsplit(path)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": target.path, "QUERY_STRING": target.query,
               "REMOTE_ADDR": "192.0.2.1", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded"}
    if cookie:
        environ["HTTP_COOKIE"] = f"{COOKIE}={cookie}"
    setup_testing_defaults(environ)
    answer: list = []
    content = b"".join(app(environ, lambda status, headers, exc_info=None: answer.extend((status, headers))))
    return answer[0], answer[1], content


def session_cookie(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith(COOKIE + "="):
            return value.split(";")[0].split("=", 1)[1]
    raise RuntimeError("the login set no session cookie")


def timed(app: Callable, path: str, cookie: str) -> float:
    started = time.perf_counter()
    status, _, _ = call(app, "GET", path, cookie)
    elapsed = time.perf_counter() - started
    if not status.startswith("200"):
        raise RuntimeError(f"GET {path}: {status}")
    return elapsed


def pages(database, requests: int, budget: float, gathers: int) -> None:
    """Part 1: each page's server time, in-process, and the dashboard's gathering uncached."""
    users.set_user(ADMIN, PASSWORD, admin=True)
    started = time.perf_counter()
    queue, inbox, router, loop = service_parts(database)
    print(f"counting the store, as a start does: {time.perf_counter() - started:.1f} s")
    http = HttpApiContext(queue=queue, authenticator=Authenticator(), connector="HTTP API",
                          gateway_names=lambda: GATEWAYS, on_accepted=lambda: None, inbox=inbox,
                          server_status=lambda: server_status.collect(router, started_at=time.time()))
    app = create_app(http)
    status, headers, _ = call(app, "POST", "/login",
                              body=urllib.parse.urlencode({"username": ADMIN, "password": PASSWORD}).encode())
    if not status.startswith("303"):
        raise RuntimeError(f"POST /login: {status}")
    cookie = session_cookie(headers)
    total = OutboundMessage.select().count()
    targets = {"dashboard /": "/", "/ui/status.json": "/ui/status.json", "/messages": "/messages",
               "/messages?before= (9/10 down)": f"/messages?before={total // 10}", "/received": "/received",
               "a message's page": f"/messages/{uuid.UUID(int=total // 2)}"}
    print(f"{total:,} messages; server time in-process (WSGI call), {requests} requests each "
          f"(or fewer: as many as {budget:.0f} s allow), ms:")
    print("| page | first request | requests | p50 | p99 | slowest |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, path in targets.items():
        first = timed(app, path, cookie)  # reads its pages into the cache; the dashboard's gathers
        times: list[float] = []
        deadline = time.perf_counter() + budget
        while len(times) < requests and time.perf_counter() < deadline:
            times.append(timed(app, path, cookie))
        print(f"| {name} | {first * 1000:.1f} | {len(times)} | {statistics.median(times) * 1000:.2f} | "
              f"{percentile(times, 0.99) * 1000:.2f} | {max(times) * 1000:.2f} |")
    collecting, gathering = [], []
    for _ in range(gathers):
        started = time.perf_counter()
        status_now = http.server_status()
        collected = time.perf_counter()
        dashboard.view(status_now, time.time())
        collecting.append(collected - started)
        gathering.append(time.perf_counter() - started)
    print(f"the dashboard's gathering, uncached, {gathers} times: p50 {statistics.median(gathering) * 1000:.1f} ms, "
          f"slowest {max(gathering) * 1000:.1f} ms (of which server_status.collect: p50 "
          f"{statistics.median(collecting) * 1000:.1f} ms)")
    loop.close()


class Poller(threading.Thread):
    """A browser with the dashboard open: logged in once, then GET /ui/status.json once a
    second (ui.js's PERIOD) with its session, while ``polling`` is set."""

    def __init__(self, port: int, polling: threading.Event, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.request("POST", "/login", urllib.parse.urlencode({"username": USER, "password": PASSWORD}),
                                {"Content-Type": "application/x-www-form-urlencoded"})
        response = self.connection.getresponse()
        response.read()
        if response.status != 303:
            raise RuntimeError(f"POST /login: {response.status}")
        self.cookie = session_cookie(response.getheaders())
        self.polling, self.stop = polling, stop
        self.times: list[float] = []

    def poll(self) -> http.client.HTTPResponse:
        self.connection.request("GET", "/ui/status.json", headers={"Cookie": f"{COOKIE}={self.cookie}"})
        response = self.connection.getresponse()
        response.read()
        return response

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.polling.wait(0.1):
                continue
            started = time.perf_counter()
            try:
                response = self.poll()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the service closed the keep-alive connection left idle between turns, as a
                # browser finds: a GET goes again on a new one
                self.connection.close()
                response = self.poll()
            if response.status != 200:
                raise RuntimeError(f"GET /ui/status.json: {response.status}")
            self.times.append(time.perf_counter() - started)
            self.stop.wait(max(0.0, 1.0 - (time.perf_counter() - started)))


def queued(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT COUNT(*) FROM outbound_message WHERE state = 'queued'").fetchone()[0]


def send_rates(store: Path | None, pollers: int, seconds: int, turns: int) -> None:
    """Part 2: send-message's rate (wrk) in turns without and with ``pollers`` open dashboards."""
    with tempfile.TemporaryDirectory(prefix="bench-ui-service-") as tmp:
        workdir = Path(tmp)
        if store is not None:
            shutil.copytree(store, workdir / "data")
        simulators = [Simulator(workdir, f"tty{n}") for n in range(1, len(GATEWAYS) + 1)]
        service = Appliance(workdir, [s.link for s in simulators])
        polling, stop = threading.Event(), threading.Event()
        try:
            # the queued messages of the copied store go out first, so that each turn starts alike
            wait(lambda: queued(service.database) == 0, 300, "the store's queued messages to be sent", interval=0.5)
            clients = [Poller(service.port, polling, stop) for _ in range(pollers)]
            for client in clients:
                client.start()
            rates: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(turns):
                for with_pollers in (False, True):
                    if with_pollers:
                        polling.set()
                        time.sleep(1.0)  # every poller has begun
                    rate = wrk(service.port, 8, seconds)
                    polling.clear()
                    if not all(client.is_alive() for client in clients):
                        raise RuntimeError("a dashboard poller stopped (its error is above): the turn is void")
                    rates[with_pollers].append(rate)
                    print(f"send-message, 8 clients, {seconds} s, "
                          f"{f'{pollers} dashboards open' if with_pollers else 'no dashboard'}: {rate:.0f}/s")
            stop.set()
            for client in clients:
                client.join(5)
            polls = [t for client in clients for t in client.times]
        finally:
            stop.set()
            service.stop()
            for simulator in simulators:
                simulator.stop()
    without, with_ = statistics.mean(rates[False]), statistics.mean(rates[True])
    print(f"mean without {without:.0f}/s, with {pollers} dashboards {with_:.0f}/s: ratio {with_ / without:.3f}; "
          f"{len(polls)} polls of /ui/status.json over HTTP under that load: "
          f"p50 {statistics.median(polls) * 1000:.1f} ms, p99 {percentile(polls, 0.99) * 1000:.1f} ms, "
          f"slowest {max(polls) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--queued", type=int, default=1_000)
    parser.add_argument("--data", default=None, help="where the filled store is kept and reused")
    parser.add_argument("--requests", type=int, default=50, help="per page")
    parser.add_argument("--page-seconds", type=float, default=30.0,
                        help="stop timing a page after this long even if short of --requests")
    parser.add_argument("--gathers", type=int, default=5, help="uncached gatherings of the dashboard")
    parser.add_argument("--seconds", type=int, default=3, help="per send-message turn")
    parser.add_argument("--turns", type=int, default=1, help="pairs of turns, without and with dashboards")
    parser.add_argument("--pollers", type=int, default=4)
    parser.add_argument("--empty-service-store", action="store_true",
                        help="part 2 on a new store instead of a copy of the filled one")
    options = parser.parse_args()
    data = Path(options.data or tempfile.mkdtemp(prefix="bench-ui-"))
    database = store_db.open_database(str(data))
    if OutboundMessage.select().count() < options.messages:
        began = time.perf_counter()
        fill(database, options.messages, options.queued, days=DAYS)
        print(f"filled the store in {time.perf_counter() - began:.0f} s")
    # into the database file, as the service's own checkpoints do (store.durability): the
    # fill leaves it all in the write-ahead log, through which every read would look
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    pages(database, options.requests, options.page_seconds, options.gathers)
    database.close()
    send_rates(None if options.empty_service_store else data, options.pollers, options.seconds, options.turns)


if __name__ == "__main__":
    main()
