"""atheris harness on the Python API of appliance.pdu.

Properties checked on every input:
- ``decode`` of arbitrary octets (and of their hex) returns a message or raises PDUError,
  never anything else, and never crashes the process;
- any text that ``encode_submit`` accepts decodes back to the same text and recipient.

Run: ``make fuzz`` (or ``python fuzz/fuzz_api.py fuzz/corpus -runs=N``). ``make fuzz``
sets ``FUZZ_PDU_EXTENSION`` to the C extension built by fuzz/build.sh with clang's
coverage counters and AddressSanitizer (and preloads atheris's ASan runtime): the fuzzer
is then guided by the coverage of the C glue, where the Python objects are built, and
any bad memory access there stops it. Without it the installed extension is used, blind.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import atheris


def _load_instrumented_extension(path: str) -> None:
    """Put the instrumented build in place of appliance.pdu._pdu before the package
    imports it."""
    spec = importlib.util.spec_from_file_location("appliance.pdu._pdu", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["appliance.pdu._pdu"] = module
    spec.loader.exec_module(module)


if os.environ.get("FUZZ_PDU_EXTENSION"):
    _load_instrumented_extension(os.environ["FUZZ_PDU_EXTENSION"])

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
