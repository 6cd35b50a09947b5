"""PDU codec speed: appliance.pdu against python-gsmmodem-new's pure-Python codec.

Both codecs get the same inputs in the same run; the figure that counts is the ratio.
Reproduce with ``make bench-codec``; figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gsmmodem import pdu as reference  # noqa: E402

from appliance import pdu  # noqa: E402

GSM_CHARS = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ¿abcdefghijklmnopqrstuvwxyzäöñüà"
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


def rate(function, items, seconds: float) -> float:
    """Items per second, best of 5 repeats of as many loops as fit ``seconds``."""
    def loop():
        for item in items:
            function(item)
    timer = timeit.Timer(loop)
    loops, _ = timer.autorange()
    loops = max(1, int(loops * seconds / 0.2 / 5))
    best = min(timer.repeat(repeat=5, number=loops)) / loops
    return len(items) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (approx.)")
    args = parser.parse_args(argv)
    print(f"{platform.machine()}, Python {platform.python_version()}")
    print("| operation | input | appliance.pdu /s | python-gsmmodem-new /s | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, cases in inputs().items():
        ours_encode = rate(lambda c: pdu.encode_submit(c[0], c[1]), cases, args.seconds)
        theirs_encode = rate(lambda c: reference.encodeSmsSubmitPdu(c[0], c[1], requestStatusReport=False),
                             cases, args.seconds)
        print(f"| encode | {name} | {ours_encode:,.0f} | {theirs_encode:,.0f} | {ours_encode / theirs_encode:.1f}× |",
              flush=True)
        pdus = [part.pdu for number, text in cases for part in pdu.encode_submit(number, text)]
        ours_decode = rate(pdu.decode, pdus, args.seconds)
        theirs_decode = rate(reference.decodeSmsPdu, pdus, args.seconds)
        print(f"| decode | {name} (per part) | {ours_decode:,.0f} | {theirs_decode:,.0f} | "
              f"{ours_decode / theirs_decode:.1f}× |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
