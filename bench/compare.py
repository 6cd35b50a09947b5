"""The appliance against an earlier version of itself, in one run, taking turns.

A change that reworks the appliance's insides (its loop, its HTTP server, its schemas) must
keep the figures the appliance is sold on. Absolute figures on a shared machine move with
its load, so both versions are measured in the same run: round after round, each version
once per round, the one that goes first alternating. The simulated modems and the clients
are this checkout's; only the appliance differs (``APPLIANCE_TREE``,
bench/service_runner.py).

Per round and version:

- end to end on one zero-latency simulated modem: messages per second and CPU seconds per
  1,000 messages (``e2e.throughput``), and the idle latency from the submission to the first
  byte of its ``AT+CMGS``, p50 and p99 (``e2e.latency``);
- send-message requests per second with 8 keep-alive clients, the API alone
  (``http_load.run``), its fsyncs per message (a second, traced run), and the idle
  service's resident memory;
- fsyncs per message from accept to Sent, one request at a time and in bulk
  (``fsync.measure``).

Reproduce with ``make bench-compare BASE=<revision>``; figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import e2e, fsync, http_load
from bench.service_runner import APPLIANCE_TREE

BASE, HEAD = "before", "after"
# (key, what, unit, goal as (comparison, bound) or None, how many decimals)
METRICS: list[tuple[str, str, str, tuple[str, float] | None, int]] = [
    ("e2e_per_second", "end to end, one zero-latency modem", "msg/s", (">=", 300.0), 0),
    ("e2e_cpu_per_1000", "CPU per 1,000 messages sent", "s", None, 2),
    ("latency_p50_ms", "idle latency API to AT+CMGS, p50", "ms", None, 1),
    ("latency_p99_ms", "idle latency API to AT+CMGS, p99", "ms", ("<", 20.0), 1),
    ("http_8_clients", "send-message, 8 keep-alive clients, API alone", "req/s", (">=", 1200.0), 0),
    ("http_fsyncs", "fsyncs per message in that load", "", None, 3),
    ("rss_idle_mb", "resident memory, idle", "MB", ("<", 40.0), 1),
    ("fsyncs_low", "fsyncs per message accept to Sent, one at a time", "", None, 2),
    ("fsyncs_bulk", "fsyncs per message accept to Sent, bulk (8 clients)", "", ("<", 0.2), 3),
]


def measure(args: argparse.Namespace) -> dict[str, float]:
    """One version's figures, with APPLIANCE_TREE naming it."""
    (sent,) = e2e.throughput(["appliance"], args.messages).values()
    (idle,) = e2e.latency(["appliance"], args.samples, (0.05, 0.3)).values()
    plain = http_load.run([8], args.seconds, traced=False, sending=False)
    traced = http_load.run([8], args.seconds, traced=True, sending=False)
    fsyncs = fsync.measure(args.low, args.bulk)
    return {"e2e_per_second": sent["per_second"], "e2e_cpu_per_1000": sent["cpu_per_1000"],
            "latency_p50_ms": idle["p50_ms"], "latency_p99_ms": idle["p99_ms"],
            "http_8_clients": plain["loads"][8]["requests_per_second"],
            "http_fsyncs": traced["loads"][8]["fsyncs_per_message"],
            "rss_idle_mb": plain["rss_idle_kb"] / 1024,
            "fsyncs_low": fsyncs["low_load"], "fsyncs_bulk": fsyncs["bulk"]}


def _met(value: float, goal: tuple[str, float]) -> bool:
    comparison, bound = goal
    return value >= bound if comparison == ">=" else value < bound


def table(rounds: list[dict[str, dict[str, float]]]) -> str:
    """Medians (and ranges) of both versions, the ratio after/before, and the goals."""
    def cell(values: list[float], decimals: int) -> str:
        median = f"{statistics.median(values):,.{decimals}f}"
        if len(values) == 1:
            return median
        return f"{median} ({min(values):,.{decimals}f}–{max(values):,.{decimals}f})"

    lines = ["| figure | before | after | after / before | goal |", "|---|---:|---:|---:|---|"]
    for key, what, unit, goal, decimals in METRICS:
        before = [r[BASE][key] for r in rounds]
        after = [r[HEAD][key] for r in rounds]
        ratio = statistics.median(after) / statistics.median(before) if statistics.median(before) else float("nan")
        target = "" if goal is None else (f"{goal[0]} {goal[1]:g}: "
                                          + ("met" if _met(statistics.median(after), goal) else "NOT met"))
        label = f"{what} ({unit})" if unit else what
        lines.append(f"| {label} | {cell(before, decimals)} | {cell(after, decimals)} | {ratio:.2f} | {target} |")
    return "\n".join(lines)


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> list[dict[str, dict[str, float]]]:
    trees = {BASE: str(args.base.resolve()), HEAD: ""}  # "": this checkout
    rounds = []
    for n in range(args.rounds):
        order = (BASE, HEAD) if n % 2 == 0 else (HEAD, BASE)
        figures: dict[str, dict[str, float]] = {}
        for version in order:
            os.environ[APPLIANCE_TREE] = trees[version]
            started = time.strftime("%H:%M:%S", time.gmtime())
            figures[version] = measure(args)
            progress(f"round {n + 1} {version} ({started} UTC, load {os.getloadavg()[0]:.1f}): "
                     + json.dumps(figures[version]))
        rounds.append(figures)
    os.environ.pop(APPLIANCE_TREE, None)
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True,
                        help="a checkout of the earlier version, with its own .venv (make install there)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1000, help="end to end, per round")
    parser.add_argument("--samples", type=int, default=100, help="latency samples, per round")
    parser.add_argument("--seconds", type=int, default=5, help="per HTTP load")
    parser.add_argument("--low", type=int, default=50, help="messages one at a time, for fsyncs")
    parser.add_argument("--bulk", type=int, default=1000, help="messages in bulk, for fsyncs")
    parser.add_argument("--out", type=Path, help="also write every round's figures here (JSON)")
    args = parser.parse_args(argv)
    if not (args.base / ".venv" / "bin" / "python").exists():
        print(f"{args.base} has no .venv: run make install there", file=sys.stderr)
        return 2
    rounds = run(args, lambda line: print(line, file=sys.stderr, flush=True))
    if args.out is not None:
        args.out.write_text(json.dumps(rounds, indent=1))
    print(table(rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
