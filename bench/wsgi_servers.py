"""Which maintained WSGI server carries the API: cheroot as the appliance configures it
(appliance/web/wsgi_server.py) against waitress with the same bounds, same app, same load;
tuning variants as ``cheroot:threads=8``; and, with ``--before DIR``, the server of a
checkout from before (its own venv and bench, ``DIR/.venv/bin/python``) in the same run.

Each server runs the real bottle app on a fresh store (every send-message commits a row
with synchronous=FULL) in its own process; wrk drives it with keep-alive connections.
waitress is a bench-only dependency (``pip install -e '.[bench]'``). Reproduce with
``make bench-wsgi`` (needs Debian's wrk); figures go to bench/RESULTS.md.
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
KINDS = ("cheroot", "waitress")
BEFORE = "before"


def parse_spec(spec: str) -> tuple[str, dict[str, float]]:
    """``cheroot:threads=8,linger=0`` -> ("cheroot", {"threads": 8, "linger": 0})."""
    kind, _, options = spec.partition(":")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"{spec}: a server is one of {', '.join(KINDS)}, with :name=value,...")
    settings: dict[str, float] = {}
    for option in filter(None, options.split(",")):
        name, _, value = option.partition("=")
        settings[name] = float(value) if "." in value else int(value)
    return kind, settings


def serve(spec: str, port: int, data: str) -> None:
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
    kind, settings = parse_spec(spec)
    if kind == "cheroot":
        from appliance.web.wsgi_server import HttpServer
        http = HttpServer(app, "127.0.0.1", port, **settings)  # type: ignore[arg-type]  # the [http] defaults unless given
        http.start()
        threading.Event().wait()
    else:
        import waitress

        from appliance.config.file import HttpConfig

        # the bounds the appliance gives cheroot by default, in waitress's words
        default = HttpConfig()
        options: dict[str, float] = {"threads": default.threads, "connection_limit": default.connections,
                   "channel_timeout": default.timeout, "max_request_body_size": default.max_body}
        options.update(settings)  # waitress's own keywords
        waitress.serve(app, host="127.0.0.1", port=port, _quiet=True, **options)


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
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk said no rate:\n{out}")
    return float(rate.group(1))


def server_command(spec: str, port: int, data: str, before: Path | None) -> list[str]:
    if spec == BEFORE:
        assert before is not None
        # the home-made server of that checkout: a thread per connection, no pool to size
        return [str(before / ".venv" / "bin" / "python"), str(before / "bench" / "wsgi_servers.py"), "serve",
                "appliance", str(port), data, "16"]
    return [sys.executable, __file__, "serve", spec, str(port), data]


def measure(spec: str, connections: int, seconds: int, path: str, before: Path | None) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(server_command(spec, port, data, before),
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
    s.add_argument("spec")
    s.add_argument("port", type=int)
    s.add_argument("data")
    b = sub.add_parser("compare")
    b.add_argument("--seconds", type=int, default=10)
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32])
    b.add_argument("--servers", nargs="+", default=["cheroot", "waitress"],
                   help="cheroot or waitress, each with :name=value,... (HttpServer's keywords; waitress's own)")
    b.add_argument("--before", type=Path, help="a checkout from before, with its .venv, whose server runs too")
    b.add_argument("--paths", nargs="+", default=["send-message", "health"], choices=["send-message", "health"])
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.spec, args.port, args.data)
        return 0
    for spec in args.servers:
        parse_spec(spec)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    specs = [*args.servers, *([BEFORE] if args.before else [])]
    # the ratio of the first server to waitress as configured (or to the second, without it)
    other = "waitress" if "waitress" in specs[1:] else specs[1]
    print(f"requests per second, {args.seconds} s per run, best of {args.rounds} (servers alternate); "
          f"started {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print("| request | clients | " + " | ".join(specs) + f" | {specs[0]} / {other} |")
    print("|---|---:|" + "---:|" * (len(specs) + 1))
    for path in args.paths:
        for connections in args.connections:
            best = dict.fromkeys(specs, 0.0)
            for _ in range(args.rounds):
                for spec in specs:
                    best[spec] = max(best[spec], measure(spec, connections, args.seconds, path, args.before))
            cells = " | ".join(f"{best[spec]:,.0f}" for spec in specs)
            print(f"| {path} | {connections} | {cells} | {best[specs[0]] / best[other]:.2f} |", flush=True)
    print(f"finished {time.strftime('%Y-%m-%d %H:%M %Z')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
