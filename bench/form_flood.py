"""Hostile input: many clients each posting a large /http form of empty fields, without
credentials, at the real service; what it costs the service in memory and CPU.

A form of 2 MiB holds about 300,000 empty fields (``f0=&f1=&...``); parsing one into a
dictionary takes tens of MB. The appliance should refuse it by its size before reading it
(web/guard.py). The service measured is this checkout's, or with APPLIANCE_TREE another
one's (bench/service_runner.py), so an earlier version can be measured beside this one.

    .venv/bin/python bench/form_flood.py [--clients 64] [--megabytes 2]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service_runner import Appliance, Simulator, cpu_seconds, wait


def _status_kb(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in kB: VmRSS now, VmHWM the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _form(megabytes: float) -> bytes:
    size = int(megabytes * 1024 * 1024)
    fields = b"&".join(b"f%d=" % n for n in range(size // 4))
    return fields[:size]


def _post(port: int, body: bytes, outcomes: Counter[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request("POST", "/http/send-message", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        outcomes[str(response.status)] += 1
    except OSError as error:  # refused while still sending: the server closed the connection
        outcomes[type(error).__name__] += 1
    finally:
        connection.close()


def _flood(port: int, body: bytes, clients: int, outcomes: Counter[str]) -> None:
    """``clients`` connections at once, each posting ``body``; their answers counted."""
    threads = [threading.Thread(target=_post, args=(port, body, outcomes)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--megabytes", type=float, default=2.0)
    args = parser.parse_args()
    body = _form(args.megabytes)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        simulator = Simulator(workdir)
        appliance = Appliance(workdir, [simulator.link])
        try:
            # warmed up: one message through, and every HTTP thread has answered once
            appliance.send(appliance.connection(), "warm-up")
            wait(lambda: simulator.sent_count() == 1, 30, "the warm-up message sent")
            warm_up: Counter[str] = Counter()
            _flood(appliance.port, b"x=1", args.clients, warm_up)
            rss_before, cpu_before = _status_kb(appliance.pid, "VmRSS"), cpu_seconds(appliance.pid)
            peak_before = _status_kb(appliance.pid, "VmHWM")
            outcomes: Counter[str] = Counter()
            started = time.monotonic()
            _flood(appliance.port, body, args.clients, outcomes)
            elapsed = time.monotonic() - started
            print(f"{args.clients} clients x {len(body):,} bytes ({body.count(b'&') + 1:,} fields), no credentials")
            print(f"  answered in {elapsed:.1f} s: {dict(sorted(outcomes.items()))}")
            peak, after = _status_kb(appliance.pid, "VmHWM"), _status_kb(appliance.pid, "VmRSS")
            print(f"  service CPU {cpu_seconds(appliance.pid) - cpu_before:.1f} s; resident memory "
                  f"{rss_before / 1024:.1f} MB before (warmed up; its peak so far {peak_before / 1024:.1f} MB), "
                  f"peak {peak / 1024:.1f} MB, after {after / 1024:.1f} MB")
        finally:
            appliance.stop()
            simulator.stop()


if __name__ == "__main__":
    main()
