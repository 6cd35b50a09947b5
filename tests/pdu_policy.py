"""The encoding policy of the PDU codec, written out in Python.

This is the readable statement of every decision the encoder makes that is
not dictated bit by bit by 3GPP TS 23.040 / 23.038: which alphabet a text is
sent in, which national language tables, where a long text is cut, which
header fields and values are written. ``appliance.pdu.encode_submit``,
``encode_deliver`` and ``count`` make the same decisions in C: run in Python,
this policy costs 10 to 25 times as much as the whole C encoder (measured with
timeit on 1- and 3-part texts; even a minimal Python layer of argument checks
and one planning call costs about as much as the C encoder), which would miss
the codec's speed goal of 50 times gsmmodem.pdu. So the appliance runs the C,
and this twin lives with the tests: ``test_pdu_policy.py`` holds the two
equal on random texts and options. Change a rule here and the tests show
where the C (``pdu_plan_text`` in pdu_core.c, ``encode_common`` in _pdu.c)
must follow.

The functions here are complete encoders (they call only the C mechanism:
the alphabet tables and ``_pdu.build_parts``), so they can be run and read
side by side with the C ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from appliance.pdu import Count, Part, PDUError, _pdu

# ----------------------------------------------------------------- the rules

#: Rule 1: the GSM 7-bit default alphabet whenever every character is in it
#: (or in its extension table). Rule 2: otherwise the national language shift
#: tables the caller allows (the recipient's phone must have them), the
#: combination that gives the fewest parts; on a tie the fewer shift IEs,
#: then the caller's order, single shift before locking shift before both.
#: Rule 3: otherwise UCS2. encoding="gsm7" stops after rule 2 with an error;
#: "ucs2" goes straight to rule 3; bytes are always sent as 8-bit data.
LANGUAGES = {"turkish": 1, "spanish": 2, "portuguese": 3}
LOCKING_SHIFT_LANGUAGES = frozenset({1, 3})  # A.3.2: there is no Spanish locking shift table

#: Cutting: each part as full as it can be (153 septets, 67 UTF-16 units or
#: 134 octets behind an 8-bit concatenation IE; less with the 16-bit IE and
#: the shift table IEs, which every part carries), never splitting an
#: escape sequence or a surrogate pair. At most 255 parts.
MAX_PARTS = 255
MAX_UD_OCTETS = 140
MAX_UD_SEPTETS = 160
ESC = 0x1B

#: Header fields: TP-PID 0 (a plain short message); TP-DCS from the general
#: data coding group, with the class bits only when a class is asked for;
#: SMS-SUBMIT part i gets TP-MR reference + i (mod 256), because the SMSC
#: treats each part as its own submit and TP-RD would reject part 2 as a
#: duplicate of part 1; the concatenation reference is concat_reference
#: (16-bit IE above 255) or else reference & 0xFF (SUBMIT) / 0 (DELIVER);
#: SMS-DELIVER sets TP-MMS (no more messages waiting).
PID = 0x00


def language_ids(national_languages: Iterable[str | int] | str) -> list[int]:
    """Language ids in order of preference, duplicates dropped."""
    if isinstance(national_languages, str):
        national_languages = (national_languages,)
    ids: list[int] = []
    for item in national_languages:
        if isinstance(item, str) and item.lower() in LANGUAGES:
            lang = LANGUAGES[item.lower()]
        elif isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 3:
            lang = item
        else:
            raise PDUError(
                f"national_languages: unknown language {item!r}; "
                "supported: turkish (1), spanish (2), portuguese (3)",
                field="national_languages",
            )
        if lang not in ids:
            ids.append(lang)
    return ids


def udh_length(parts: int, concat16: bool, locking: int, single: int) -> int:
    """Octets of UDH each part carries, UDHL included; 0 for none."""
    n = (6 if concat16 else 5) if parts > 1 else 0
    n += 3 if locking else 0
    n += 3 if single else 0
    return n + 1 if n else 0


def header_septets(udh_len: int) -> int:
    """Septets a UDH of udh_len octets occupies, fill bits counted."""
    return (udh_len * 8 + 6) // 7


def capacity(encoding: str, udh_len: int) -> int:
    """Septets / UTF-16 units / octets left in one SMS after the UDH."""
    if encoding == "gsm7":
        return MAX_UD_SEPTETS - header_septets(udh_len)
    if encoding == "ucs2":
        return (MAX_UD_OCTETS - udh_len) // 2
    return MAX_UD_OCTETS - udh_len


@dataclass(frozen=True)
class Plan:
    encoding: str
    locking: int
    single: int
    concat16: bool
    per_part: int
    chunks: list[bytes]  # septet values (gsm7), UTF-16-BE octets (ucs2), octets (8bit)

    def units(self, chunk: bytes) -> int:
        return len(chunk) // 2 if self.encoding == "ucs2" else len(chunk)

    @property
    def parts(self) -> int:
        return len(self.chunks)

    @property
    def remaining(self) -> int:
        return self.per_part - self.units(self.chunks[-1])


def _ends_badly(encoding: str, chunk: bytes) -> bool:
    """A cut after chunk would split a character: an escape, a surrogate pair."""
    if encoding == "gsm7":
        i = 0
        while i < len(chunk):
            if chunk[i] == ESC:
                if i + 1 == len(chunk):
                    return True
                i += 2
            else:
                i += 1
        return False
    if encoding == "ucs2":
        return len(chunk) >= 2 and 0xD8 <= chunk[-2] <= 0xDB
    return False


def _split(encoding: str, units: bytes, per_part: int) -> list[bytes]:
    """Greedy: as much as fits, one unit less if the cut would split a character."""
    size = per_part * (2 if encoding == "ucs2" else 1)
    step = 2 if encoding == "ucs2" else 1
    chunks, start = [], 0
    while start < len(units):
        end = min(start + size, len(units))
        if end < len(units) and _ends_badly(encoding, units[start:end]):
            end -= step
        chunks.append(units[start:end])
        start = end
    return chunks or [b""]


def _cut(encoding: str, units: bytes, locking: int, single: int, concat16: bool) -> Plan:
    one = capacity(encoding, udh_length(1, concat16, locking, single))
    n = len(units) // 2 if encoding == "ucs2" else len(units)
    if n <= one:
        return Plan(encoding, locking, single, concat16, one, [units])
    per = capacity(encoding, udh_length(2, concat16, locking, single))
    return Plan(encoding, locking, single, concat16, per, _split(encoding, units, per))


def plan(text: str | bytes, encoding: str = "auto", national_languages=(), concat16: bool = False) -> Plan:
    """Decide the alphabet, the shift tables and the cut points."""
    if encoding not in ("auto", "gsm7", "ucs2", "8bit"):
        raise PDUError(f"encoding: must be one of auto, gsm7, ucs2, 8bit, not {encoding!r}", field="encoding")
    langs = language_ids(national_languages)
    if isinstance(text, (bytes, bytearray, memoryview)):
        if encoding not in ("auto", "8bit"):
            raise PDUError(f"text: bytes can only be sent as 8bit, not {encoding}", field="text")
        return _cut("8bit", bytes(text), 0, 0, concat16)
    if not isinstance(text, str):
        raise PDUError(f"text: expected str, got {type(text).__name__}", field="text")
    if encoding == "8bit":
        raise PDUError("text: 8bit data must be bytes, not str", field="text")

    if encoding in ("auto", "gsm7"):
        # rule 1
        try:
            return _cut("gsm7", _pdu.gsm7_encode(text), 0, 0, concat16)
        except ValueError as e:
            default_error = str(e)
        # rule 2
        best: Plan | None = None
        for lang in langs:
            candidates = [(0, lang)]
            if lang in LOCKING_SHIFT_LANGUAGES:
                candidates += [(lang, 0), (lang, lang)]
            for locking, single in candidates:
                try:
                    septets = _pdu.gsm7_encode(text, locking, single)
                except ValueError:
                    continue
                candidate = _cut("gsm7", septets, locking, single, concat16)
                ies = (locking != 0) + (single != 0)
                if best is None or (candidate.parts, ies) < (best.parts, (best.locking != 0) + (best.single != 0)):
                    best = candidate
        if best is not None:
            return best
        if encoding == "gsm7":
            # name the first character no allowed table has (else the first outside the default)
            tables = [(0, 0)] + [(lang if lang in LOCKING_SHIFT_LANGUAGES else 0, lang) for lang in langs]
            for i, ch in enumerate(text):
                if not any(_pdu.gsm7_encodable(ch, locking, single) for locking, single in tables):
                    default_error = f"character {ch!r} (U+{ord(ch):04X}) at index {i} has no GSM 7-bit mapping"
                    break
            raise PDUError(f"text: not encodable as gsm7: {default_error}", field="text")

    # rule 3
    try:
        utf16 = text.encode("utf-16-be")
    except UnicodeEncodeError as e:
        raise PDUError(
            f"text: lone surrogate U+{ord(text[e.start]):04X} at index {e.start} cannot be sent", field="text"
        ) from None
    return _cut("ucs2", utf16, 0, 0, concat16)


def count(text: str | bytes, *, encoding: str = "auto", national_languages=()) -> Count:
    p = plan(text, encoding, national_languages)
    names = {v: k for k, v in LANGUAGES.items()}
    return Count(
        parts=p.parts, encoding=p.encoding, per_part=p.per_part, remaining=p.remaining,
        locking_shift=names.get(p.locking), single_shift=names.get(p.single),
    )


# ---------------------------------------------------------- header fields

_DIGIT_NIBBLE = {str(d): d for d in range(10)} | {"*": 0xA, "#": 0xB}


def _check_int(value: object, name: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise PDUError(f"{name}: must be an int in {lo}..{hi}, not {value!r}", field=name)
    return value


def _digits(number: object, name: str) -> tuple[int, str]:
    if not isinstance(number, str):
        raise PDUError(f"{name}: expected str, got {type(number).__name__}", field=name)
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not digits:
        raise PDUError(f"{name}: no digits in {number!r}", field=name)
    for i, ch in enumerate(digits):
        if ch not in _DIGIT_NIBBLE:
            raise PDUError(
                f"{name}: invalid character {ch!r} at index {i + international} in {number!r}; "
                "only digits, '*', '#' and a leading '+' are allowed",
                field=name,
            )
    if len(digits) > 20:
        raise PDUError(f"{name}: {len(digits)} digits, at most 20 fit in an address", field=name)
    return (0x91 if international else 0x81), digits


def _semi_octets(digits: str) -> bytes:
    nibbles = [_DIGIT_NIBBLE[c] for c in digits] + ([0xF] if len(digits) % 2 else [])
    return bytes(lo | (hi << 4) for lo, hi in zip(nibbles[0::2], nibbles[1::2], strict=True))


def encode_address(number: str, name: str = "number", *, alphanumeric: bool = False) -> bytes:
    """TP-DA / TP-OA: digit count, type of address, semi-octets; or an
    alphanumeric originator (TON 101, default alphabet packed) when allowed
    and the text has a character that is not a digit."""
    try:
        toa, digits = _digits(number, name)
    except PDUError as e:
        if not (alphanumeric and "invalid character" in str(e)):
            raise
        try:
            septets = _pdu.gsm7_encode(number)
        except ValueError as e2:
            raise PDUError(f"{name}: {e2}", field=name) from None
        if len(septets) > 11:
            raise PDUError(f"{name}: {number!r}: an alphanumeric address holds at most 11 septets",
                           field=name) from None
        return bytes([(7 * len(septets) + 3) // 4, 0xD0]) + _pdu.pack7(septets)
    return bytes([len(digits), toa]) + _semi_octets(digits)


def encode_smsc(smsc: str | None) -> bytes:
    """The SMSC part; a lone 00 means the modem's configured SMSC."""
    if smsc is None:
        return b"\x00"
    toa, digits = _digits(smsc, "smsc")
    body = bytes([toa]) + _semi_octets(digits)
    return bytes([len(body)]) + body


_MINUTE, _HOUR, _DAY, _WEEK = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)


def relative_vp(validity: timedelta) -> int:
    """TP-VP relative format (23.040 9.2.3.12.1), rounded up so the message
    lives at least as long as asked, capped at 63 weeks."""
    if validity < timedelta(0):
        raise PDUError(f"validity: negative period {validity}", field="validity")

    def ceil_div(a: timedelta, b: timedelta) -> int:
        return -(-a // b)

    if validity <= 12 * _HOUR:
        return max(ceil_div(validity, 5 * _MINUTE) - 1, 0)
    if validity <= 24 * _HOUR:
        return 143 + ceil_div(validity - 12 * _HOUR, 30 * _MINUTE)
    if validity <= 30 * _DAY:
        return 166 + ceil_div(validity, _DAY)
    if validity <= 63 * _WEEK:
        return 192 + ceil_div(validity, _WEEK)
    return 255


def encode_time(when: datetime, name: str, *, round_up: bool = False) -> bytes:
    """TP-SCTS / absolute TP-VP: swapped BCD, time zone in quarter hours
    (converted to UTC when the offset is not whole quarter hours); an
    absolute validity is rounded up to the second."""
    if not isinstance(when, datetime):
        raise PDUError(f"{name}: expected an aware datetime, got {type(when).__name__}", field=name)
    if when.utcoffset() is None:
        raise PDUError(f"{name}: datetime {when!r} has no time zone (naive); give an aware one", field=name)
    if round_up and when.microsecond:
        when += timedelta(microseconds=1_000_000 - when.microsecond)
    offset = when.utcoffset()
    if offset % timedelta(minutes=15) or abs(offset) > timedelta(hours=19, minutes=45):
        when, offset = when.astimezone(UTC), timedelta(0)
    if not 1990 <= when.year <= 2089:
        raise PDUError(f"{name}: year {when.year} cannot be written: two-digit years cover 1990..2089", field=name)
    quarters = int(offset / timedelta(minutes=15))

    def bcd(v: int) -> int:
        return ((v % 10) << 4) | (v // 10)

    fields = [when.year % 100, when.month, when.day, when.hour, when.minute, when.second]
    return bytes(bcd(v) for v in fields) + bytes([bcd(abs(quarters)) | (0x08 if quarters < 0 else 0)])


def dcs(encoding: str, message_class: int | None) -> int:
    alphabet = {"gsm7": 0x00, "8bit": 0x04, "ucs2": 0x08}[encoding]
    return alphabet if message_class is None else 0x10 | alphabet | message_class


# ---------------------------------------------------------------- encoders


def _parts(mti: int, first: int, *, reference: int, address: bytes, vp_or_scts: bytes, smsc: bytes,
           p: Plan, message_class: int | None, concat_reference: int) -> list[Part]:
    if p.parts > MAX_PARTS:
        raise PDUError(f"text: needs {p.parts} parts, at most {MAX_PARTS} can be concatenated", field="text")
    return _pdu.build_parts(
        mti, first, reference, address, PID, dcs(p.encoding, message_class), vp_or_scts, smsc,
        p.encoding, p.locking, p.single, concat_reference, p.concat16, p.chunks,
    )


def encode_submit(number, text, *, smsc=None, encoding="auto", status_report=False, validity=None,
                  reference=0, concat_reference=None, message_class=None, reject_duplicates=False,
                  national_languages=()) -> list[Part]:
    """The reference SMS-SUBMIT encoder: same arguments and results as
    appliance.pdu.encode_submit."""
    address = encode_address(number)
    sc = encode_smsc(smsc)
    reference = _check_int(reference, "reference", 0, 255)
    if concat_reference is not None:
        _check_int(concat_reference, "concat_reference", 0, 65535)
    if message_class is not None:
        _check_int(message_class, "message_class", 0, 3)
    first = 0x01 | (0x04 if reject_duplicates else 0) | (0x20 if status_report else 0)
    if validity is None:
        vp = b""
    elif isinstance(validity, timedelta):
        vp, first = bytes([relative_vp(validity)]), first | 0x10
    elif isinstance(validity, datetime):
        vp, first = encode_time(validity, "validity", round_up=True), first | 0x18
    else:
        raise PDUError(f"validity: expected timedelta, datetime or None, got {type(validity).__name__}",
                       field="validity")
    concat16 = concat_reference is not None and concat_reference > 255
    p = plan(text, encoding, national_languages, concat16)
    ref = concat_reference if concat_reference is not None else reference & 0xFF
    return _parts(1, first, reference=reference, address=address, vp_or_scts=vp, smsc=sc, p=p,
                  message_class=message_class, concat_reference=ref)


def encode_deliver(number, text, *, smsc=None, timestamp, encoding="auto", concat_reference=None,
                   message_class=None, national_languages=()) -> list[Part]:
    """The reference SMS-DELIVER encoder: same arguments and results as
    appliance.pdu.encode_deliver."""
    address = encode_address(number, alphanumeric=True)
    sc = encode_smsc(smsc)
    if concat_reference is not None:
        _check_int(concat_reference, "concat_reference", 0, 65535)
    if message_class is not None:
        _check_int(message_class, "message_class", 0, 3)
    scts = encode_time(timestamp, "timestamp")
    concat16 = concat_reference is not None and concat_reference > 255
    p = plan(text, encoding, national_languages, concat16)
    return _parts(0, 0x04, reference=0, address=address, vp_or_scts=scts, smsc=sc, p=p,
                  message_class=message_class, concat_reference=concat_reference or 0)
