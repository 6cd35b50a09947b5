"""PDU codec speed: appliance.pdu against python-gsmmodem-new's pure-Python codec.

Both codecs get the same inputs in the same run; the figure that counts is the ratio.
Reproduce with ``make bench-codec``; figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gsmmodem import pdu as reference

from appliance import pdu

GSM_CHARS = ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ¿"
             "abcdefghijklmnopqrstuvwxyzäöñüà")
UCS2_CHARS = "Привет мир 你好世界 Γειά σου κόσμε مرحبا بالعالم"


def inputs(seed: int = 7) -> dict[str, list[tuple[str, str]]]:
    """Typical traffic: alerts that fit one SMS, and longer Unicode texts in several parts."""
    rng = random.Random(seed)
    numbers = [f"+44770090{n:04d}" for n in range(100)]
    return {
        "1-part GSM 7-bit": [(rng.choice(numbers), "".join(rng.choice(GSM_CHARS) for _ in range(rng.randint(20, 150))))
                             for _ in range(100)],
        "3-part UCS2": [(rng.choice(numbers), "".join(rng.choice(UCS2_CHARS) for _ in range(190)))
                        for _ in range(100)],
    }


def _timer(function, items, seconds: float) -> tuple[timeit.Timer, int]:
    def loop():
        for item in items:
            function(item)
    timer = timeit.Timer(loop)
    loops, _ = timer.autorange()
    return timer, max(1, int(loops * seconds / 0.2 / ROUNDS))


ROUNDS = 9


def compare(ours, theirs, items, seconds: float) -> tuple[float, float, float, float, float]:
    """Rates of both (items per second) and the median, lowest and highest ratio.

    The two take turns, round by round, and each round gives one ratio: a burst of load
    from elsewhere on the machine then hits both sides of a ratio, not one of them."""
    ours_timer, ours_loops = _timer(ours, items, seconds)
    theirs_timer, theirs_loops = _timer(theirs, items, seconds)
    ours_rates, theirs_rates = [], []
    for _ in range(ROUNDS):
        ours_rates.append(len(items) * ours_loops / ours_timer.timeit(ours_loops))
        theirs_rates.append(len(items) * theirs_loops / theirs_timer.timeit(theirs_loops))
    ratios = sorted(o / t for o, t in zip(ours_rates, theirs_rates, strict=True))
    return (statistics.median(ours_rates), statistics.median(theirs_rates), statistics.median(ratios),
            ratios[0], ratios[-1])


def row(operation: str, name: str, figures: tuple[float, float, float, float, float]) -> str:
    ours, theirs, ratio, low, high = figures
    return f"| {operation} | {name} | {ours:,.0f} | {theirs:,.0f} | {ratio:.1f}× | {low:.1f}–{high:.1f}× |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (approx.)")
    args = parser.parse_args(argv)
    print(f"{platform.machine()}, Python {platform.python_version()}, {ROUNDS} rounds, medians")
    print("| operation | input | appliance.pdu /s | python-gsmmodem-new /s | ratio | range |")
    print("|---|---|---:|---:|---:|---:|")
    for name, cases in inputs().items():
        print(row("encode", name, compare(lambda c: pdu.encode_submit(c[0], c[1]),
                                          lambda c: reference.encodeSmsSubmitPdu(c[0], c[1], requestStatusReport=False),
                                          cases, args.seconds)), flush=True)
        pdus = [part.pdu for number, text in cases for part in pdu.encode_submit(number, text)]
        print(row("decode", f"{name} (per part)", compare(pdu.decode, reference.decodeSmsPdu, pdus, args.seconds)),
              flush=True)
        # what the receive path calls: the lenient decode, which repairs what it can
        print(row("decode, lenient", f"{name} (per part)",
                  compare(lambda p: pdu.decode(p, strict=False), reference.decodeSmsPdu, pdus, args.seconds)),
              flush=True)
        # the udh list is built when first read: the same with it read
        print(row("decode, udh read too", f"{name} (per part)",
                  compare(lambda p: pdu.decode(p).udh, reference.decodeSmsPdu, pdus, args.seconds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
