"""atheris harness on the Python API of appliance.pdu.

Properties checked on every input:
- ``decode`` of arbitrary octets (and of their hex) returns a message or raises PDUError,
  never anything else, and never crashes the process;
- any text that ``encode_submit`` accepts decodes back to the same text and recipient.

Run: ``make fuzz`` (or ``python fuzz/fuzz_api.py fuzz/corpus -runs=N``).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from appliance import pdu


def check_decode(data: bytes) -> None:
    for form in (data, data.hex()):
        for smsc in (True, False):
            try:
                pdu.decode(form, smsc=smsc)
            except pdu.PDUError:
                pass


def check_round_trip(provider: atheris.FuzzedDataProvider) -> None:
    encoding = provider.PickValueInList(["auto", "gsm7", "ucs2"])
    number = "+" + str(provider.ConsumeIntInRange(1, 10**15))
    text = provider.ConsumeUnicodeNoSurrogates(400)
    try:
        parts = pdu.encode_submit(number, text, encoding=encoding, concat_reference=7)
    except pdu.PDUError:
        return  # e.g. gsm7 asked for a text outside it, or empty text: refusing is fine
    decoded = [pdu.decode(part.pdu) for part in parts]
    if any(d.number != number for d in decoded):
        raise AssertionError(f"number changed: {number!r}")
    joined = "".join(d.text or "" for d in decoded)
    if joined != text:
        raise AssertionError(f"text changed: {text!r} became {joined!r}")


def test_one_input(data: bytes) -> None:
    check_decode(data)
    check_round_trip(atheris.FuzzedDataProvider(data))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
