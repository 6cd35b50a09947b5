"""CPU time the app spends on one send-message request, in-process (no HTTP server, no
network): the Diafaan GET /http/send-message and POST /api/v1/messages with a JSON body,
each a durable commit to a fresh store, as a WSGI call on the real bottle app.

It measures what the request handling costs on top of the commit (reading fields,
checking them, encoding the reply), so two trees can be compared in one sitting:
``python bench/api_cpu.py [--tree DIR]`` runs the app of DIR (default: this tree) in a
child process per round, rounds alternating when several trees are given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 2000

CHILD = r'''
import io, json, sys, tempfile, time
from urllib.parse import urlencode
from appliance.accounts import api_keys, users
from appliance.accounts.authenticator import Authenticator
from appliance.control import server_status
from appliance.gateways.assignment import Routing
from appliance.gateways.router import Router
from appliance.store.db import open_database
from appliance.store.inbox import Inbox
from appliance.store.models import User
from appliance.store.queue import Queue
from appliance.web.api_v1 import ApiV1Context
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

requests = int(sys.argv[1])
database = open_database(tempfile.mkdtemp())
users.set_user("bench", "bench-password")
key = api_keys.create(User.get(User.name == "bench"), "bench")[1]
queue = Queue(database)
idle = Router(None, queue, [], Routing([]))
http = HttpApiContext(queue=queue, authenticator=Authenticator(), connector="HTTP API",
                      gateway_names=lambda: ("GSM",), on_accepted=lambda: None, inbox=Inbox(database),
                      server_status=lambda: server_status.collect(idle, started_at=0.0))
app = create_app(http, ApiV1Context(http=http, version="bench"))

def call(environ):
    base = {"SERVER_NAME": "bench", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "192.0.2.1", "QUERY_STRING": ""}
    base.update(environ)
    status = []
    body = b"".join(app(base, lambda line, headers, exc_info=None: status.append(line)))
    assert status[0][:3] in ("200", "201"), (status, body)

def diafaan(n):
    query = urlencode({"username": "bench", "password": "bench-password", "to": "+447700900123",
                       "message": f"Hello {n}"})
    call({"REQUEST_METHOD": "GET", "PATH_INFO": "/http/send-message", "QUERY_STRING": query,
          "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"})

def api_v1(n):
    body = json.dumps({"to": ["+447700900123"], "message": f"Hello {n}", "priority": 1}).encode()
    call({"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/messages", "CONTENT_TYPE": "application/json",
          "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
          "HTTP_AUTHORIZATION": "Bearer " + key})

result = {}
for name, send in (("diafaan", diafaan), ("api_v1", api_v1)):
    for n in range(50):   # warm: the credential cache, the statements
        send(n)
    started = time.process_time()
    for n in range(requests):
        send(n)
    result[name] = (time.process_time() - started) / requests * 1e6
print(json.dumps(result))
'''


def measure(tree: Path, requests: int) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run([sys.executable, "-c", CHILD, str(requests)], capture_output=True, text=True,
                              check=True, env=environment, cwd=workdir)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree to measure (repeatable)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args()
    trees = args.tree or [ROOT]
    runs: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(args.rounds):
        for tree in trees:
            runs[tree].append(measure(tree, args.requests))
    print(time.strftime("%Y-%m-%d %H:%M %Z"), f"CPU µs per request, median of {args.rounds} rounds "
                                               f"of {args.requests}")
    for tree, results in runs.items():
        medians = {name: sorted(r[name] for r in results)[len(results) // 2] for name in results[0]}
        print(f"{tree!s:40s} " + "  ".join(f"{name} {value:7.1f}" for name, value in medians.items()))


if __name__ == "__main__":
    main()
