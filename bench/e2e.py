"""End-to-end benchmarks: from a submission to the PDU at a simulated modem, for the
appliance and its peers (bench/e2e_contenders.py; the peers' configuration: bench/PEERS.md).

- ``throughput``: N single-part messages, each contender driving one simulated modem with
  zero reply latency: messages per second from the first submission to the last PDU the
  simulator accepted, and the CPU seconds per 1,000 messages of the process that sends
  (its whole process tree, /proc/<pid>/stat, read before the first submission and after
  the last PDU);
- ``latency``: one message at a time with the system idle in between: from the
  submission to the first byte of its ``AT+CMGS`` at the simulator (the simulator's trace
  puts it on the same monotonic clock), p50 and p99;
- ``efficiency``: the appliance with 4 simulated modems that take 200 ms per send,
  N messages: the rate achieved as a fraction of the ideal 4 x 5 messages per second;
- ``report``: the tables and the goals of the benchmark issue from saved results.

Every run first sends warm-up messages (start-up and connections are not per-message
costs; see ``Contender.warm``). Reproduce with ``make bench-e2e``; figures
go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.e2e_contenders import CONTENDERS, BareLoop, Contender, missing_programs
from bench.service_runner import Simulator, cpu_seconds, wait
from hil.trace import HOST, read_trace

IDEAL_PER_MODEM = 5.0  # messages per second a modem answering each send in 200 ms can take
GOALS = {"vs_peers": 100.0, "vs_bare": 0.4, "latency_p99_ms": 20.0, "efficiency": 0.95}


def _run(name: str, simulators: int, body: Callable[[Contender, list[Simulator]], dict], *,
         send_latency_ms: float = 0.0, trace: bool = False) -> dict:
    """Start ``simulators`` simulated modems and the contender ``name`` on them, send the
    warm-up messages, run ``body``; stop everything whatever happens."""
    with tempfile.TemporaryDirectory(prefix=f"e2e-{name}-") as tmp:
        workdir = Path(tmp)
        sims = [Simulator(workdir, f"tty{n}", send_latency_ms=send_latency_ms, trace=trace)
                for n in range(simulators)]
        contender = None
        try:
            contender = CONTENDERS[name](workdir, sims)
            contender.warm([f"warm-up {n}" for n in range(contender.warm_up)])
            wait(lambda: sum(s.sent_count() for s in sims) >= contender.warm_up, 120,
                 f"{name}: the warm-up messages", interval=0.02)
            result = body(contender, sims)
            return {"contender": contender.name, "load_average": os.getloadavg(), **result}
        except Exception:
            log = getattr(contender, "log", None)
            if log is not None and log.exists():  # what the daemon said, before it is deleted
                print(f"--- the last lines of {log.name}:", *log.read_text().splitlines()[-30:],
                      sep="\n", file=sys.stderr)
            raise
        finally:
            if contender is not None:
                contender.stop()
            for sim in sims:
                sim.stop()


def _timed_batch(contender: Contender, sims: list[Simulator], count: int, timeout: float) -> dict:
    """Submit ``count`` messages at once; rate from the first submission to the last PDU
    (the simulators' record: wall clock, as the submission's), CPU of the sender."""
    before = sum(s.sent_count() for s in sims)
    texts = [f"e2e message {n}" for n in range(count)]
    cpu_before = cpu_seconds(contender.pid)
    started = time.time()
    contender.submit_many(texts)
    if isinstance(contender, BareLoop):
        assert contender.started is not None  # set by submit_many
        started = contender.started  # its loop starts in its own process
    submitted = time.time() - started
    wait(lambda: sum(s.sent_count() for s in sims) >= before + count, timeout, "the last PDU",
         interval=0.005)
    cpu = cpu_seconds(contender.pid) - cpu_before
    last = max(record["time"] for s in sims for record in s.sent()[-count:])
    seconds = last - started
    per_modem = [s.sent_count() for s in sims]
    return {"messages": count, "seconds": seconds, "per_second": count / seconds,
            "cpu_per_1000": cpu * 1000 / count, "submission_seconds": submitted,
            "per_modem": per_modem}


def throughput(names: Sequence[str], count: int) -> dict:
    results = {}
    for name in names:
        results[name] = _run(name, 1, lambda c, s: _timed_batch(c, s, count, 60 + 5 * count))
        _progress("throughput", name, results[name])
    return results


def cmgs_times(trace_path: Path) -> list[float]:
    """When the simulator saw the first byte of each ``AT+CMGS``, on the monotonic clock
    (the trace's ``clock_start`` plus the time of the host write that held it)."""
    trace = read_trace(trace_path)
    host = [event for event in trace.events if event.source == HOST]
    offsets, joined, position = [], bytearray(), 0
    for event in host:
        offsets.append(position)
        joined += event.data
        position += len(event.data)
    start = trace.meta["clock_start"]
    return [start + host[bisect.bisect_right(offsets, match.start()) - 1].time
            for match in re.finditer(rb"AT\+CMGS=", bytes(joined), re.IGNORECASE)]


def _more_than(sim: Simulator, count: int) -> Callable[[], bool]:
    """True once ``sim`` has accepted more than ``count`` PDUs."""
    return lambda: sim.sent_count() > count


def _latency_samples(contender: Contender, sims: list[Simulator], samples: int,
                     gap: tuple[float, float]) -> dict:
    (sim,) = sims
    submitted = []
    for n in range(samples):
        # a random idle gap, so that submissions fall at every phase of a peer's polling loop
        time.sleep(random.uniform(*gap))
        before = sim.sent_count()
        submitted.append(time.monotonic())
        contender.submit(f"latency sample {n}")
        wait(_more_than(sim, before), 60, f"latency sample {n}", interval=0.002)
    assert sim.trace is not None
    seen = cmgs_times(sim.trace)
    latencies = []
    for moment in submitted:  # each sample's AT+CMGS is the first one after its submission
        latencies.append(seen[bisect.bisect_right(seen, moment)] - moment)
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"samples": samples, "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000,
            "max_ms": latencies[-1] * 1000, "min_ms": latencies[0] * 1000}


def latency(names: Sequence[str], samples: int, gap: tuple[float, float]) -> dict:
    results = {}
    for name in names:
        result = _run(name, 1, lambda c, s: _latency_samples(c, s, samples, gap), trace=True)
        results[name] = {**result, "contender": name}  # one submission at a time, whatever the mode
        _progress("latency", name, results[name])
    return results


def efficiency(count: int, modems: int = 4, send_latency_ms: float = 200.0) -> dict:
    ideal = modems * 1000.0 / send_latency_ms

    def body(contender: Contender, sims: list[Simulator]) -> dict:
        result = _timed_batch(contender, sims, count, 60 + 2 * count / ideal)
        return {**result, "modems": modems, "send_latency_ms": send_latency_ms,
                "ideal_per_second": ideal, "fraction": result["per_second"] / ideal}

    result = {"appliance": _run("appliance", modems, body, send_latency_ms=send_latency_ms)}
    _progress("efficiency", "appliance", result["appliance"])
    return result


def _progress(kind: str, name: str, result: dict) -> None:
    print(f"{kind} {name}: {json.dumps(result)}", file=sys.stderr, flush=True)


def _table(columns: Sequence[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table: the first column left-aligned, the figures right-aligned."""
    return ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def report(results: dict) -> str:
    """Markdown tables of whatever ``results`` hold, and the goals that can be judged."""
    lines = []
    rows = results.get("throughput", {}).values()
    if rows:
        lines += _table(["contender", "messages", "msg/s", "CPU s per 1,000 msg", "load avg (1 min)"],
                        [[r["contender"], str(r["messages"]), f"{r['per_second']:,.1f}",
                          f"{r['cpu_per_1000']:.2f}", f"{r['load_average'][0]:.1f}"] for r in rows])
    rows = results.get("latency", {}).values()
    if rows:
        lines += _table(["contender", "samples", "p50 ms", "p99 ms", "max ms", "load avg (1 min)"],
                        [[r["contender"], str(r["samples"]), f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
                          f"{r['max_ms']:.1f}", f"{r['load_average'][0]:.1f}"] for r in rows])
    row = results.get("efficiency", {}).get("appliance")
    if row:
        lines += [f"Efficiency: {row['messages']} messages on {row['modems']} modems taking "
                  f"{row['send_latency_ms']:.0f} ms per send: {row['per_second']:.2f} msg/s of an "
                  f"ideal {row['ideal_per_second']:.0f} = {row['fraction']:.3f} "
                  f"(per modem: {row['per_modem']})", ""]
    lines += goals(results)
    return "\n".join(lines)


def goals(results: dict) -> list[str]:
    """The benchmark issue's goals, each met or not, for those the results can judge."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = []
    rates = {name: r["per_second"] for name, r in results.get("throughput", {}).items()}
    for mode in ("appliance", "appliance-multi"):
        if mode not in rates:
            continue
        for peer, goal in (("gammu-smsd", GOALS["vs_peers"]), ("smstools", GOALS["vs_peers"]),
                           ("smstools-sleeping", GOALS["vs_peers"]), ("bare", GOALS["vs_bare"])):
            if peer in rates:
                ratio = rates[mode] / rates[peer]
                lines.append(f"- throughput {mode} / {peer}: {ratio:,.2f}x (goal >= {goal}x): "
                             f"{verdict(ratio >= goal)}")
    row = results.get("latency", {}).get("appliance")
    if row:
        lines.append(f"- idle latency p99 {row['p99_ms']:.1f} ms (goal < {GOALS['latency_p99_ms']:.0f} ms): "
                     f"{verdict(row['p99_ms'] < GOALS['latency_p99_ms'])}")
    row = results.get("efficiency", {}).get("appliance")
    if row:
        lines.append(f"- efficiency {row['fraction']:.3f} (goal >= {GOALS['efficiency']}): "
                     f"{verdict(row['fraction'] >= GOALS['efficiency'])}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    every = ["appliance", "appliance-multi", "bare", "gammu-smsd", "smstools", "smstools-sleeping"]
    for name, help_text in (("throughput", "N messages at once"), ("latency", "idle latency"),
                            ("efficiency", "4 slow modems"), ("all", "all three")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--out", type=Path, help="also write the results here (JSON)")
        if name in ("throughput", "latency", "all"):
            command.add_argument("--contenders", default=",".join(every),
                                 help=f"comma-separated, from {', '.join(every)} (default: all)")
        if name in ("throughput", "all"):
            command.add_argument("--messages", type=int, default=1000)
        if name in ("latency", "all"):
            command.add_argument("--samples", type=int, default=100)
            command.add_argument("--gap", type=float, nargs=2, default=(0.1, 1.1), metavar=("MIN", "MAX"),
                                 help="idle seconds between samples, drawn uniformly (default 0.1 1.1)")
        if name in ("efficiency", "all"):
            command.add_argument("--efficiency-messages", type=int, default=400)
    merge = commands.add_parser("report", help="tables and goals from saved results")
    merge.add_argument("files", type=Path, nargs="+", help="JSON files written with --out")
    args = parser.parse_args(argv)

    if args.command == "report":
        results: dict = {}
        for path in args.files:
            for kind, rows in json.loads(path.read_text()).items():
                results.setdefault(kind, {}).update(rows)
        print(report(results))
        return 0
    names = [n.strip() for n in getattr(args, "contenders", "appliance").split(",") if n.strip()]
    unknown = sorted(set(names) - set(every))
    if unknown:
        parser.error(f"--contenders: unknown {', '.join(unknown)}; choose from {', '.join(every)}")
    missing = missing_programs(names)
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install gammu-smsd smstools)", file=sys.stderr)
        return 2
    results = {}
    if args.command in ("throughput", "all"):
        results["throughput"] = throughput(names, args.messages)
    if args.command in ("latency", "all"):
        # the bare loop has no submission path: it has no idle latency to measure
        results["latency"] = latency([n for n in names if n not in ("bare", "appliance-multi")],
                                     args.samples, tuple(args.gap))
    if args.command in ("efficiency", "all"):
        results["efficiency"] = efficiency(args.efficiency_messages)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
