"""Write the seed corpus for fuzz/fuzz_decode: fuzz/corpus/<name>.

Each file is one option octet (see fuzz_decode.c: bit 0 = the PDU starts with
the SMSC part, bit 1 = also parse the octets as hex, bit 2 = allow the national
tables when re-encoding, bit 3 = re-encode as SMS-DELIVER, bit 4 = 16-bit
concatenation reference) followed by the PDU octets. Valid PDUs of every kind
this codec reads and writes, plus edge cases that sit next to the checks.

Run from the repository root: .venv/bin/python fuzz/make_corpus.py
"""

from __future__ import annotations

import pathlib
import shutil
from datetime import UTC, datetime, timedelta, timezone

from appliance.pdu import encode_deliver, encode_submit

OUT = pathlib.Path(__file__).parent / "corpus"
TS = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=5, minutes=45)))
SMSC, HEX, LANGS, DELIVER, C16 = 1, 2, 4, 8, 16


def hexpdu(pdu: str) -> bytes:
    return bytes.fromhex(pdu)


def seeds() -> dict[str, bytes]:
    s: dict[str, bytes] = {}

    def add(name: str, options: int, octets: bytes) -> None:
        s[name] = bytes([options]) + octets

    # published and classic vectors (see tests/test_pdu*.py for their sources)
    add("classic_submit", SMSC, hexpdu("0011000B916407281553F80000AA0AE8329BFD4697D9EC37"))
    add("classic_deliver", SMSC, hexpdu("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"))
    add("alnum_deliver", SMSC, hexpdu("07911326040000F0040BD0C7F7FBCC2E0300003150202134244A0AE8329BFD4697D9EC37"))
    add("status_report", 0, hexpdu("06000B910221815716F2709021510121807090215101718000"))
    add("status_report_pi", 0, hexpdu("06000B910221815716F2709021510121807090215101718000"
                                      "07" "00" "00" "05" "E8329BFD06"))
    add("status_report_pi_ext", 0, hexpdu("06000B910221815716F2709021510121807090215101718000" "810000"))
    add("nordic_submit", SMSC, hexpdu("069144888888F811000C9153481032547600000B20D4F29C9E769F4161D0BC3D07B5CB"
                                      "F379F89C769F416F7B590E62D3CB"))
    add("flash", SMSC, hexpdu("0001010B915121551532F40010104190991D9EA341EDF27C1E3E9743"))
    add("mwi_c8", SMSC, hexpdu("0001AB0B915121551532F400C80F3190BB7C07D9DFE971B91D4EB301"))
    add("how_are_you", SMSC | LANGS,
        hexpdu("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"))
    add("hex_classic_submit", SMSC | HEX, b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
    add("hex_lower_deliver", SMSC | HEX, b"0004038121f300009930925161958003e8321b")

    # our encoders: every alphabet, national tables, concatenation, validity forms
    def encoded(name: str, options: int, parts) -> None:
        for i, part in enumerate(parts[:2]):
            add(f"{name}_{i}", options, hexpdu(part.pdu))

    encoded("gsm7_long", SMSC, encode_submit("+4915112345678", "a€[" * 70, smsc="+4917", reference=7))
    encoded("ucs2_emoji", SMSC, encode_submit("123", "ж😀" * 50, status_report=True))
    encoded("ucs2_c16", SMSC | C16, encode_submit("123", "ж" * 100, concat_reference=0xBEEF))
    encoded("eight_bit", SMSC | DELIVER, encode_submit("123", bytes(range(200)), message_class=1))
    encoded("turkish_lock", SMSC | LANGS, encode_deliver("+905321234567", "ışığı Şş " * 30, timestamp=TS,
                                                         national_languages=["turkish"]))
    encoded("turkish_single", SMSC | LANGS, encode_submit("1", "Ş ok", national_languages=["turkish"]))
    encoded("spanish_single", SMSC | LANGS | DELIVER, encode_submit("1", "¿Qué tal? áéíóú" * 12,
                                                                    national_languages=["spanish"]))
    encoded("portuguese_both", SMSC | LANGS, encode_submit("1", "ã" * 150 + "Ω", national_languages=["portuguese"]))
    encoded("portuguese_lock", SMSC | LANGS, encode_submit("1", "Promoção: você à ação " * 8,
                                                           national_languages=["portuguese"]))
    encoded("validity_abs", SMSC, encode_submit("1", "x", validity=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)))
    encoded("validity_rel", SMSC, encode_submit("1", "x", validity=timedelta(weeks=5)))
    encoded("alnum_sender", SMSC | DELIVER, encode_deliver("Bank [1]", "Your code: 1234", timestamp=TS))
    encoded("star_hash", SMSC, encode_submit("*100#", "x", reject_duplicates=True, message_class=0))
    encoded("empty_text", SMSC, encode_submit("1", ""))

    # hand-built: enhanced validity, odd UDHs, DCS groups, edge lengths
    def submit_vp(vp: str) -> bytes:
        return hexpdu("00" + "09" + "00" + "0381" + "21F3" + "0000" + vp + "0161")

    add("enhanced_relative", SMSC, submit_vp("01AA000000000000"[:14]))
    add("enhanced_seconds", SMSC, submit_vp("023C0000000000"))
    add("enhanced_hhmmss", SMSC, submit_vp("03214365000000"))
    add("enhanced_ext", SMSC, submit_vp("8100AA00000000"))
    add("concat16_ucs2", SMSC, hexpdu("00" "44" "0381" "21F3" "00" "08" "99309251619580" "09" "06080412340302" "0061"))
    add("udh_unknown_ies", SMSC, hexpdu("00" "44" "0381" "21F3" "00" "08" "99309251619580" "0B"
                                        "08050415811581" "7F00" "0061"))
    add("udh_repeated_concat", SMSC, hexpdu("00" "44" "0381" "21F3" "00" "08" "99309251619580" "0E"
                                           "0B" "0003010201" "080412340202" "0061"))
    add("national_ie_bad_lang", SMSC, hexpdu("00" "44" "0381" "21F3" "00" "00" "99309251619580" "08"
                                             "03250106" "000000"))
    add("mwi_ucs2", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "EB" "99309251619580" "04" "00680069"))
    add("dcs_f6_8bit", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "F6" "99309251619580" "02" "FFFF"))
    add("compressed", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "20" "99309251619580" "02" "FFFF"))
    add("max_udl_gsm7", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "00" "99309251619580" "A0" + "00" * 140))
    add("max_udl_ucs2", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "08" "99309251619580" "8C" + "0041" * 70))
    add("lone_surrogate", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "08" "99309251619580" "04" "D83D0041"))
    add("max_address", SMSC, hexpdu("00" "04" "1491" + "21436587092143658709" + "00" "00" "99309251619580" "00"))
    add("max_smsc", SMSC, hexpdu("0B91" + "21436587092143658709" + "04" "0381" "21F3" "00" "00" "99309251619580" "00"))
    add("trailing_escape", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "00" "99309251619580" "02" "E10D"))
    add("leap_day", SMSC, hexpdu("00" "04" "0381" "21F3" "00" "00" "42209290000080" "00"))
    add("reserved_mti", 0, hexpdu("03" "0381" "21F3" "00" "00" "99309251619580" "00"))
    add("empty", 0, b"")
    add("smsc_only", SMSC, hexpdu("0791"))
    return s


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    for name, data in seeds().items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(list(OUT.iterdir()))} seeds to {OUT}")


if __name__ == "__main__":
    main()
