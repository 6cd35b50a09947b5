"""Which HTTP server carries the API: the appliance's own (appliance/web/server.py)
against waitress and cheroot, same app, same load.

Each server runs the real bottle app on a fresh store (every send-message commits a row
with synchronous=FULL) in its own process; wrk drives it with keep-alive connections.
waitress and cheroot are bench-only dependencies (``pip install -e '.[bench]'``).
Reproduce with ``make bench-wsgi`` (needs Debian's wrk); figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.service_runner import free_port  # noqa: E402

PASSWORD = "bench-password"
SERVERS = ("appliance", "waitress", "cheroot")


def serve(server: str, port: int, data: str, threads: int) -> None:
    """Run the app as the service builds it, minus the modems (nothing consumes the queue)."""
    from appliance.accounts import users
    from appliance.accounts.authenticator import Authenticator
    from appliance.store.db import open_database
    from appliance.store.inbox import Inbox
    from appliance.store.queue import Queue
    from appliance.web.app import create_app
    from appliance.web.diafaan.commands import HttpApiContext

    database = open_database(data)
    users.set_user("bench", PASSWORD)
    context = HttpApiContext(queue=Queue(database), authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: ("GSM",), on_accepted=lambda: None,
                             inbox=Inbox(database), server_status=dict)
    app = create_app(context)
    if server == "appliance":
        from appliance.web.server import HttpServer
        http = HttpServer(app, "127.0.0.1", port)  # a thread per connection: no pool to size
        http.start()
        threading.Event().wait()
    elif server == "cheroot":
        from cheroot import wsgi
        wsgi.Server(("127.0.0.1", port), app, numthreads=threads).safe_start()
    else:
        import waitress
        waitress.serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} never listened")


def run_wrk(url: str, connections: int, seconds: int) -> float:
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def measure(server: str, connections: int, seconds: int, threads: int, path: str) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen([sys.executable, __file__, "serve", server, str(port), data, str(threads)],
                                   stderr=subprocess.DEVNULL)  # waitress logs its queue depth
        try:
            wait_listening(port)
            query = urlencode({"username": "bench", "password": PASSWORD, "to": "+447700900123",
                               "message": "benchmark message"})
            url = f"http://127.0.0.1:{port}/http/send-message?{query}" if path == "send-message" \
                else f"http://127.0.0.1:{port}/health"
            run_wrk(url, connections, 1)  # warm-up: the first request pays for scrypt
            return run_wrk(url, connections, seconds)
        finally:
            process.terminate()
            process.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("server", choices=SERVERS)
    s.add_argument("port", type=int)
    s.add_argument("data")
    s.add_argument("threads", type=int)
    b = sub.add_parser("compare")
    b.add_argument("--seconds", type=int, default=10)
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32])
    b.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.server, args.port, args.data, args.threads)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    print(f"requests per second, {args.threads} worker threads for waitress and cheroot, "
          f"{args.seconds} s per run, best of {args.rounds} (servers alternate)")
    print("| request | clients | appliance | waitress | cheroot | appliance / waitress |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in ("send-message", "health"):
        for connections in args.connections:
            best = dict.fromkeys(SERVERS, 0.0)
            for _ in range(args.rounds):
                for server in SERVERS:
                    rate = measure(server, connections, args.seconds, args.threads, path)
                    best[server] = max(best[server], rate)
            ratio = best["appliance"] / best["waitress"]
            print(f"| {path} | {connections} | {best['appliance']:.0f} | {best['waitress']:.0f} | "
                  f"{best['cheroot']:.0f} | {ratio:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
