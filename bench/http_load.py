"""The HTTP API under load, and what the service costs in memory and in fsyncs.

- send-message requests per second with 1, 8 and 32 keep-alive clients (wrk), every
  request durably committed before its OK: once with the API alone (its one modem's port
  is missing, so what it accepts waits in the queue), once while the service also sends
  what it accepts through a simulated modem with zero reply latency (on the same two cores);
- fsync calls per accepted message during those runs (strace, in a second run: even with
  ``--seccomp-bpf``, which stops the process only at the traced calls, tracing slows it);
- resident memory: idle after start, and the peak during the runs.

Reproduce with ``make bench-http`` (Debian's wrk and strace); figures go to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service_runner import NUMBER, PASSWORD, USER, Appliance, Simulator, wait
from bench.wsgi_servers import run_wrk


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak) of ``pid``, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def wrk(port: int, clients: int, seconds: int) -> float:
    query = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "to": NUMBER,
                                    "message": "load test"})
    return run_wrk(f"http://127.0.0.1:{port}/http/send-message?{query}", clients, seconds)


def accepted(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as db:
        return db.execute("SELECT COUNT(*) FROM outbound_message").fetchone()[0]


def fsync_calls(trace: Path) -> int:
    return sum(1 for line in trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line)


def run(clients_list: list[int], seconds: int, traced: bool, sending: bool) -> dict:
    """One service; each load in turn. Traced: fsyncs per accepted message for each load."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        simulator = Simulator(workdir)
        trace = workdir / "strace.txt"
        wrapper = (["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace)]
                   if traced else [])
        service = Appliance(workdir, [simulator.link if sending else workdir / "no-such-port"], wrapper)
        try:
            connection = service.connection()
            service.send(connection, "warm-up")  # the first login pays for scrypt
            connection.close()
            if sending:
                wait(lambda: simulator.sent_count() >= 1, 30, "the warm-up message")
            time.sleep(2.0)  # start-up settles: the modem's first health check, the sweep
            result: dict = {"rss_idle_kb": memory_kb(service.pid, "VmRSS"), "loads": {}}
            for clients in clients_list:
                before_messages = accepted(service.database)
                before_fsyncs = fsync_calls(trace) if traced else 0
                rate = wrk(service.port, clients, seconds)
                load = {"requests_per_second": rate}
                if traced:
                    messages = accepted(service.database) - before_messages
                    load["fsyncs_per_message"] = (fsync_calls(trace) - before_fsyncs) / messages
                result["loads"][clients] = load
            result["rss_peak_kb"] = memory_kb(service.pid, "VmHWM")
        finally:
            service.stop()
            simulator.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="per load")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)
    for tool in ("wrk", "strace"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install {tool}", file=sys.stderr)
            return 2
    results = {(sending, traced): run(args.clients, args.seconds, traced, sending)
               for sending in (False, True) for traced in (False, True)}
    print(json.dumps({f"{'sending' if s else 'api-alone'}{'-traced' if t else ''}": r
                      for (s, t), r in results.items()}))
    print(f"{platform.machine()}, Python {platform.python_version()}, {args.seconds} s per load")
    print("| send-message clients | API alone: requests/s | fsyncs per message | "
          "also sending: requests/s | fsyncs per message |")
    print("|---:|---:|---:|---:|---:|")
    for clients in args.clients:
        cells = []
        for sending in (False, True):
            load = results[(sending, False)]["loads"][clients]
            traced = results[(sending, True)]["loads"][clients]
            cells += [f"{load['requests_per_second']:.0f}", f"{traced['fsyncs_per_message']:.3f}"]
        print(f"| {clients} | " + " | ".join(cells) + " |")
    for sending in (False, True):
        plain = results[(sending, False)]
        print(f"RSS {'also sending' if sending else 'API alone'}: idle {plain['rss_idle_kb'] / 1024:.1f} MB, "
              f"peak during the loads {plain['rss_peak_kb'] / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
