"""SMS PDU codec: SMS-SUBMIT encoding, SMS-DELIVER / SUBMIT / STATUS-REPORT decoding.

References: 3GPP TS 23.040 (the TPDU layouts) and TS 23.038 (alphabets and
the data coding scheme).

Split of work: the C extension ``_pdu`` does only the bit work (hex, the
GSM 7-bit alphabet tables, septet packing) and checks every length it is
given. This module holds the policy - which alphabet a text needs, where a
long text is cut, which header fields are written - so that it can be read
and reviewed against the standard.

Errors: every malformed or truncated input raises :class:`PDUError` (a
``ValueError``) whose message says which octet and why; invalid arguments to
the encoders raise it naming the argument. Nothing else escapes ``decode``.

Not yet here (kept possible by the design): national language single/locking
shift tables (23.038 6.2.1.2, IEIs 0x24/0x25), encoding absolute or enhanced
validity periods, 8-bit / binary submits, SMS-COMMAND.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator, Union

from . import _pdu

__all__ = [
    "PDUError",
    "Part",
    "Concat",
    "Count",
    "Deliver",
    "Submit",
    "StatusReport",
    "Message",
    "encode_submit",
    "decode",
    "count",
]


class PDUError(ValueError):
    """A PDU (or an argument to an encoder) is invalid.

    ``offset`` is the octet offset into the decoded PDU (SMSC part included
    when there is one) where the problem was found, or None for encoder
    argument errors; ``field`` names the PDU field or the argument.
    """

    def __init__(self, message: str, *, offset: int | None = None, field: str | None = None):
        self.offset = offset
        self.field = field
        if offset is not None:
            message = f"octet {offset}: {message}"
        super().__init__(message)


# --------------------------------------------------------------------- types


@dataclass(frozen=True)
class Part:
    """One SMS-SUBMIT ready for the modem.

    ``pdu`` is upper-case hex including the SMSC part (``00`` = use the
    modem's default SMSC), as AT+CMGS expects after the prompt;
    ``tpdu_length`` is the octet count after the SMSC part, which is the
    number ``AT+CMGS=<n>`` wants.
    """

    pdu: str
    tpdu_length: int


@dataclass(frozen=True)
class Concat:
    """Concatenation info from UDH IEI 0x00 (8-bit reference) or 0x08 (16-bit).

    Parts of one message share ``reference`` and ``total``; ``sequence``
    counts from 1.
    """

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True)
class Count:
    """How a text would be sent: ``parts`` SMS in ``encoding``.

    ``per_part`` is the capacity of each part in septets (gsm7) or UTF-16
    code units (ucs2): 160/70 for a single SMS, 153/67 once a concatenation
    header is needed. ``remaining`` is how many more of those units fit in
    the last part (an extension character such as the euro sign costs two
    septets; an emoji costs two UTF-16 units).
    """

    parts: int
    encoding: str
    per_part: int
    remaining: int


Udh = list[tuple[int, bytes]]


@dataclass(frozen=True)
class _Decoded:
    """What every decoded TPDU carries: its addresses and its user data.

    ``number`` is international with a ``+`` prefix, or plain text for an
    alphanumeric originator. ``text`` is None for 8-bit data (and for a
    status report without user data). ``data`` is the user data after the
    UDH in code units: septet values (one per byte) for gsm7, UTF-16-BE
    octets for ucs2, raw octets for 8-bit; joining ``data`` of all parts
    before decoding is the safe way to reassemble text whose sender split an
    escape or a surrogate pair.
    """

    smsc: str | None
    number: str
    text: str | None
    data: bytes
    encoding: str
    concat: Concat | None
    udh: Udh
    message_class: int | None
    pid: int | None
    dcs: int | None


@dataclass(frozen=True)
class Deliver(_Decoded):
    """A received SMS-DELIVER; ``number`` is its originator."""

    timestamp: datetime


@dataclass(frozen=True)
class Submit(_Decoded):
    """A decoded SMS-SUBMIT (what ``encode_submit`` produces, or a stored one).

    ``number`` is the destination. ``validity`` is a timedelta for a
    relative or enhanced validity period, an aware datetime for an absolute
    one, None when absent.
    """

    reference: int
    validity: timedelta | datetime | None
    status_report_requested: bool
    reject_duplicates: bool


@dataclass(frozen=True)
class StatusReport(_Decoded):
    """A received SMS-STATUS-REPORT.

    ``reference`` is the TP-MR of the SMS-SUBMIT it reports on, ``number``
    its recipient, ``status`` the TP-ST value (0x00..0x1F delivered or
    otherwise completed, 0x20..0x3F still trying, 0x40.. failed),
    ``timestamp`` when the SMSC took the message, ``discharge_time`` when
    the status was reached. ``pid`` and ``dcs`` are None when absent.
    """

    reference: int
    status: int
    timestamp: datetime
    discharge_time: datetime


Message = Union[Deliver, Submit, StatusReport]


# ------------------------------------------------------------------ constants

_MAX_UD_OCTETS = 140  # TP-UD is at most 140 octets (160 septets)
_MAX_UD_SEPTETS = 160
_MAX_ADDRESS_DIGITS = 20  # 23.040 9.1.2.5: the address field is at most 12 octets
_MAX_SMSC_OCTETS = 11  # type-of-address + 10 octets of digits
_ESC = 0x1B

_IEI_CONCAT_8 = 0x00
_IEI_CONCAT_16 = 0x08

# TP-MTI values (23.040 9.2.3.1)
_MTI_DELIVER = 0
_MTI_SUBMIT = 1
_MTI_STATUS_REPORT = 2

_DIGIT_NIBBLE = {str(d): d for d in range(10)} | {"*": 0xA, "#": 0xB}
_NIBBLE_DIGIT = "0123456789*#abc"  # 0xC..0xE per 23.040 9.1.2.3; 0xF is filler

_ENCODINGS = ("auto", "gsm7", "ucs2")


# ------------------------------------------------------------------ encoding


def _udh_bytes(ies: list[tuple[int, bytes]]) -> bytes:
    """UDHL + the information elements, or b'' when there are none."""
    if not ies:
        return b""
    body = b"".join(bytes([iei, len(data)]) + data for iei, data in ies)
    return bytes([len(body)]) + body


def _gsm7_header_septets(udh_len: int) -> int:
    """Septets a UDH of ``udh_len`` octets (UDHL included) occupies, fill bits counted."""
    return (udh_len * 8 + 6) // 7


def _capacity(encoding: str, udh_len: int) -> int:
    """Septets (gsm7) or UTF-16 units (ucs2) left in one SMS after a UDH.

    Computed rather than hard-coded so that later header elements (national
    language shift IEs) shrink the capacity correctly: 160/153 and 70/67
    fall out for no header / a concatenation header.
    """
    if encoding == "gsm7":
        return _MAX_UD_SEPTETS - _gsm7_header_septets(udh_len)
    return (_MAX_UD_OCTETS - udh_len) // 2


# A concatenation header: UDHL, IEI 0x00, IEDL 3, reference, total, sequence.
_CONCAT_UDH_LEN = 6


@dataclass(frozen=True)
class _Plan:
    encoding: str
    per_part: int
    chunks: list[bytes]  # septet values (gsm7) or UTF-16-BE octets (ucs2)

    def units(self, chunk: bytes) -> int:
        return len(chunk) if self.encoding == "gsm7" else len(chunk) // 2


def _choose_encoding(text: str, encoding: str) -> str:
    if not isinstance(text, str):
        raise PDUError(f"text: expected str, got {type(text).__name__}", field="text")
    if encoding not in _ENCODINGS:
        raise PDUError(
            f"encoding: must be one of {', '.join(_ENCODINGS)}, not {encoding!r}",
            field="encoding",
        )
    if encoding == "auto":
        return "gsm7" if _pdu.gsm7_encodable(text) else "ucs2"
    return encoding


def _split(units: bytes, per_part: int, unit_size: int, ends_badly) -> list[bytes]:
    """Cut ``units`` into chunks of at most ``per_part`` units.

    ``ends_badly(chunk)`` says whether a cut after that chunk would split a
    character (an escape sequence, a surrogate pair); then the cut moves one
    unit earlier, so the character goes whole into the next part.
    """
    size = per_part * unit_size
    chunks = []
    start = 0
    while start < len(units):
        end = min(start + size, len(units))
        if end < len(units) and ends_badly(units[start:end]):
            end -= unit_size
        chunks.append(units[start:end])
        start = end
    return chunks or [b""]


def _ends_in_escape(septets: bytes) -> bool:
    """True if the last septet is an escape whose code would go to the next part."""
    i = 0
    n = len(septets)
    while i < n:
        if septets[i] == _ESC:
            if i + 1 == n:
                return True
            i += 2
        else:
            i += 1
    return False


def _ends_in_high_surrogate(utf16: bytes) -> bool:
    return len(utf16) >= 2 and 0xD8 <= utf16[-2] <= 0xDB


def _plan(text: str, encoding: str) -> _Plan:
    """Decide the alphabet and the cut points; shared by encode_submit and count."""
    encoding = _choose_encoding(text, encoding)
    if encoding == "gsm7":
        try:
            septets = _pdu.gsm7_encode(text)
        except ValueError as e:
            raise PDUError(f"text: not encodable as gsm7: {e}", field="text") from None
        single = _capacity("gsm7", 0)
        if len(septets) <= single:
            return _Plan("gsm7", single, [septets])
        per_part = _capacity("gsm7", _CONCAT_UDH_LEN)
        return _Plan("gsm7", per_part, _split(septets, per_part, 1, _ends_in_escape))

    try:
        utf16 = text.encode("utf-16-be")
    except UnicodeEncodeError as e:
        raise PDUError(
            f"text: lone surrogate U+{ord(text[e.start]):04X} at index {e.start} cannot be sent",
            field="text",
        ) from None
    single = _capacity("ucs2", 0)
    if len(utf16) <= single * 2:
        return _Plan("ucs2", single, [utf16])
    per_part = _capacity("ucs2", _CONCAT_UDH_LEN)
    return _Plan("ucs2", per_part, _split(utf16, per_part, 2, _ends_in_high_surrogate))


def count(text: str, *, encoding: str = "auto") -> Count:
    """How many SMS ``text`` needs, and how much room is left in the last one.

    Uses the same cutting rules as :func:`encode_submit`, so the part count
    shown to a user is the number that will be sent.
    """
    plan = _plan(text, encoding)
    return Count(
        parts=len(plan.chunks),
        encoding=plan.encoding,
        per_part=plan.per_part,
        remaining=plan.per_part - plan.units(plan.chunks[-1]),
    )


def _check_int(value: object, name: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise PDUError(f"{name}: must be an int in {lo}..{hi}, not {value!r}", field=name)
    return value


def _address_digits(number: object, name: str) -> tuple[int, str]:
    """(type-of-address, digits) for a dialable number: '+' means international."""
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
    if len(digits) > _MAX_ADDRESS_DIGITS:
        raise PDUError(
            f"{name}: {len(digits)} digits, at most {_MAX_ADDRESS_DIGITS} fit in an address",
            field=name,
        )
    # 0x91: international, ISDN/E.164 plan. 0x81: unknown type, ISDN plan -
    # the network then applies the national/international prefix rules.
    return (0x91 if international else 0x81), digits


def _semi_octets(digits: str) -> bytes:
    """Digits as swapped nibbles, an odd count padded with 0xF (23.040 9.1.2.3)."""
    nibbles = [_DIGIT_NIBBLE[c] for c in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(lo | (hi << 4) for lo, hi in zip(nibbles[0::2], nibbles[1::2]))


def _encode_address(number: object, name: str) -> bytes:
    """TP-DA: digit count, type of address, semi-octets."""
    toa, digits = _address_digits(number, name)
    return bytes([len(digits), toa]) + _semi_octets(digits)


def _encode_smsc(smsc: str | None) -> bytes:
    """The SMSC part: a lone 00 means 'the modem's configured SMSC'; else octet count first."""
    if smsc is None:
        return b"\x00"
    toa, digits = _address_digits(smsc, "smsc")
    body = bytes([toa]) + _semi_octets(digits)
    return bytes([len(body)]) + body


_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)


def _ceil_div(a: timedelta, b: timedelta) -> int:
    return -(-a // b)


def _relative_vp(validity: object) -> int:
    """TP-VP (relative format, 23.040 9.2.3.12.1) for a timedelta.

    Rounds up to the next representable step, so the message lives at least
    as long as asked; anything beyond 63 weeks is capped at 63 weeks.
    """
    if not isinstance(validity, timedelta):
        raise PDUError(
            f"validity: expected timedelta or None, got {type(validity).__name__}", field="validity"
        )
    if validity < timedelta(0):
        raise PDUError(f"validity: negative period {validity}", field="validity")
    if validity <= 12 * _HOUR:  # 0..143: (VP + 1) x 5 minutes
        return max(_ceil_div(validity, 5 * _MINUTE) - 1, 0)
    if validity <= 24 * _HOUR:  # 144..167: 12 hours + (VP - 143) x 30 minutes
        return 143 + _ceil_div(validity - 12 * _HOUR, 30 * _MINUTE)
    if validity <= 30 * _DAY:  # 168..196: (VP - 166) days
        return 166 + _ceil_div(validity, _DAY)
    if validity <= 63 * _WEEK:  # 197..255: (VP - 192) weeks
        return 192 + _ceil_div(validity, _WEEK)
    return 255


def _relative_vp_period(vp: int) -> timedelta:
    """Inverse of _relative_vp."""
    if vp <= 143:
        return (vp + 1) * 5 * _MINUTE
    if vp <= 167:
        return 12 * _HOUR + (vp - 143) * 30 * _MINUTE
    if vp <= 196:
        return (vp - 166) * _DAY
    return (vp - 192) * _WEEK


def _submit_dcs(encoding: str, message_class: int | None) -> int:
    """General data coding group (23.038 4): alphabet bits, class bits when given."""
    alphabet = 0x00 if encoding == "gsm7" else 0x08
    if message_class is None:
        return alphabet
    return 0x10 | alphabet | message_class


def encode_submit(
    number: str,
    text: str,
    *,
    smsc: str | None = None,
    encoding: str = "auto",
    status_report: bool = False,
    validity: timedelta | None = None,
    reference: int = 0,
    concat_reference: int | None = None,
    message_class: int | None = None,
    reject_duplicates: bool = False,
) -> list[Part]:
    """Encode ``text`` to ``number`` as one or more SMS-SUBMIT PDUs.

    ``encoding``: "auto" sends GSM 7-bit when every character has a GSM
    mapping (160 per SMS) and UCS2 otherwise (70 per SMS); "gsm7" raises
    PDUError rather than silently switch; "ucs2" forces UTF-16.

    A text longer than one SMS is cut into concatenated parts (UDH IEI 0x00
    with ``concat_reference``, or ``reference`` & 0xFF when None) without
    splitting an escape sequence or a surrogate pair. Each part gets its own
    TP-MR, ``reference + index`` mod 256, because the SMSC treats parts as
    separate submits and, with ``reject_duplicates``, would reject a second
    part carrying the same TP-MR and destination.

    ``validity`` is written in the relative format, rounded up to the next
    step the format can express (5 minutes .. 63 weeks); None omits it.
    """
    da = _encode_address(number, "number")
    sc = _encode_smsc(smsc)
    reference = _check_int(reference, "reference", 0, 255)
    if concat_reference is not None:
        concat_reference = _check_int(concat_reference, "concat_reference", 0, 255)
    if message_class is not None:
        message_class = _check_int(message_class, "message_class", 0, 3)
    vp = b"" if validity is None else bytes([_relative_vp(validity)])

    plan = _plan(text, encoding)
    total = len(plan.chunks)
    if total > 255:
        raise PDUError(f"text: needs {total} parts, at most 255 can be concatenated", field="text")
    concat_ref = (reference & 0xFF) if concat_reference is None else concat_reference

    first = _MTI_SUBMIT
    if reject_duplicates:
        first |= 0x04  # TP-RD
    if vp:
        first |= 0x10  # TP-VPF = 10: relative
    if status_report:
        first |= 0x20  # TP-SRR
    dcs = _submit_dcs(plan.encoding, message_class)
    pid = 0x00  # plain SME-to-SME short message

    parts = []
    for index, chunk in enumerate(plan.chunks):
        ies = [] if total == 1 else [(_IEI_CONCAT_8, bytes([concat_ref, total, index + 1]))]
        udh = _udh_bytes(ies)
        if plan.encoding == "gsm7":
            header_septets = _gsm7_header_septets(len(udh))
            fill = header_septets * 7 - len(udh) * 8
            ud = udh + _pdu.pack7(chunk, fill)
            udl = header_septets + len(chunk)
        else:
            ud = udh + chunk
            udl = len(ud)
        tpdu = (
            bytes([first | (0x40 if udh else 0), (reference + index) & 0xFF])
            + da
            + bytes([pid, dcs])
            + vp
            + bytes([udl])
            + ud
        )
        parts.append(Part(pdu=_pdu.hex_encode(sc + tpdu), tpdu_length=len(tpdu)))
    return parts


# ------------------------------------------------------------------ decoding


class _Reader:
    """Bounds-checked cursor over the PDU octets; errors carry the offset."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def octet(self, field: str) -> int:
        if self.pos >= len(self.data):
            raise PDUError(f"truncated: {field} missing", offset=self.pos, field=field)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int, field: str) -> bytes:
        if n > self.remaining():
            raise PDUError(
                f"truncated: {field} needs {n} octets, only {self.remaining()} left",
                offset=self.pos,
                field=field,
            )
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value


def _to_octets(pdu: object) -> bytes:
    """Hex text (str) or raw octets (bytes-like) -> octets."""
    if isinstance(pdu, str):
        try:
            return _pdu.hex_decode(pdu)
        except ValueError:
            bad = next((i for i, c in enumerate(pdu) if c not in "0123456789abcdefABCDEF"), None)
            if bad is not None:
                raise PDUError(
                    f"not hex: character {pdu[bad]!r} at character {bad}", offset=bad // 2, field="hex"
                ) from None
            raise PDUError(
                f"not hex: odd length {len(pdu)}, the last digit has no partner",
                offset=len(pdu) // 2,
                field="hex",
            ) from None
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        return bytes(pdu)
    raise PDUError(f"expected hex str or bytes, got {type(pdu).__name__}", field="pdu")


def _decode_digits(body: bytes, ndigits: int, offset: int, field: str) -> str:
    out = []
    for i in range(ndigits):
        octet = body[i // 2]
        nibble = (octet >> 4) if i % 2 else (octet & 0x0F)
        if nibble == 0xF:
            raise PDUError(
                f"{field}: filler nibble F inside the digits (digit {i + 1} of {ndigits})",
                offset=offset + i // 2,
                field=field,
            )
        out.append(_NIBBLE_DIGIT[nibble])
    return "".join(out)


def _read_smsc(r: _Reader) -> str | None:
    start = r.pos
    n = r.octet("SMSC length")
    if n == 0:
        return None
    if n > _MAX_SMSC_OCTETS:
        raise PDUError(
            f"SMSC length {n} octets exceeds {_MAX_SMSC_OCTETS}", offset=start, field="SMSC length"
        )
    body = r.take(n, "SMSC address")
    toa, digits = body[0], body[1:]
    if not digits:
        return None
    ndigits = len(digits) * 2
    if digits[-1] >> 4 == 0xF:  # odd digit count: the last high nibble is the filler
        ndigits -= 1
    number = _decode_digits(digits, ndigits, start + 2, "SMSC address")
    return ("+" + number) if (toa >> 4) & 7 == 1 else number


def _read_address(r: _Reader, field: str) -> str:
    """TP-OA / TP-DA / TP-RA (23.040 9.1.2.5): length in useful semi-octets, TOA, value."""
    start = r.pos
    ndigits = r.octet(f"{field} length")
    toa = r.octet(f"{field} type")
    if ndigits > _MAX_ADDRESS_DIGITS:
        raise PDUError(
            f"{field} length {ndigits} semi-octets exceeds {_MAX_ADDRESS_DIGITS}",
            offset=start,
            field=field,
        )
    body = r.take((ndigits + 1) // 2, field)
    ton = (toa >> 4) & 7
    if ton == 5:  # alphanumeric: GSM 7-bit packed, length counts semi-octets
        return _pdu.gsm7_decode(_pdu.unpack7(body, ndigits * 4 // 7))
    number = _decode_digits(body, ndigits, start + 2, field)
    return ("+" + number) if ton == 1 and number else number


def _bcd_swapped(octet: int) -> int | None:
    lo, hi = octet & 0x0F, octet >> 4
    if lo > 9 or hi > 9:
        return None
    return lo * 10 + hi


def _read_timestamp(r: _Reader, field: str) -> datetime:
    """TP-SCTS format (23.040 9.2.3.11): swapped BCD Y M D h m s, time zone in quarter hours.

    The standard gives a two-digit year; 90..99 are read as 1990s and
    00..89 as 2000s (GSM did not exist before 1990).
    """
    start = r.pos
    raw = r.take(7, field)
    values = []
    for i, octet in enumerate(raw[:6]):
        v = _bcd_swapped(octet)
        if v is None:
            raise PDUError(f"{field}: octet 0x{octet:02X} is not BCD", offset=start + i, field=field)
        values.append(v)
    tz = raw[6]
    quarters = _bcd_swapped(tz & 0xF7)  # bit 3 is the sign of the offset
    if quarters is None:
        raise PDUError(f"{field}: time zone 0x{tz:02X} is not BCD", offset=start + 6, field=field)
    offset = timedelta(minutes=15 * quarters)
    if tz & 0x08:
        offset = -offset
    yy, month, day, hour, minute, second = values
    try:
        return datetime(
            (1900 if yy >= 90 else 2000) + yy, month, day, hour, minute, second,
            tzinfo=timezone(offset),
        )
    except ValueError as e:
        raise PDUError(f"{field}: invalid date/time ({e})", offset=start, field=field) from None


def _read_validity(r: _Reader, vpf: int) -> timedelta | datetime | None:
    """TP-VP in the format TP-VPF announces (23.040 9.2.3.12)."""
    if vpf == 0:
        return None
    if vpf == 2:
        return _relative_vp_period(r.octet("TP-VP"))
    if vpf == 3:
        return _read_timestamp(r, "TP-VP")
    start = r.pos
    raw = r.take(7, "TP-VP")  # enhanced format (9.2.3.12.3)
    if raw[0] & 0x80:
        raise PDUError("TP-VP: enhanced format extension bit set", offset=start, field="TP-VP")
    kind = raw[0] & 0x07
    if kind == 0:
        return None
    if kind == 1:
        return _relative_vp_period(raw[1])
    if kind == 2:
        return timedelta(seconds=raw[1])
    if kind == 3:
        hms = [_bcd_swapped(o) for o in raw[1:4]]
        if None in hms:
            raise PDUError("TP-VP: enhanced hh:mm:ss is not BCD", offset=start + 1, field="TP-VP")
        return timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2])
    raise PDUError(f"TP-VP: reserved enhanced format {kind}", offset=start, field="TP-VP")


def _parse_dcs(dcs: int) -> tuple[str, int | None]:
    """(alphabet, message class) from TP-DCS (23.038 section 4).

    Reserved alphabets and reserved coding groups are read as GSM 7-bit, as
    the standard tells a receiver to. Compressed text is returned as 8-bit
    data: there is no decompressor here.
    """
    group = dcs >> 4
    if group <= 0x7:  # general data coding, or marked for automatic deletion
        message_class = (dcs & 0x03) if dcs & 0x10 else None
        if dcs & 0x20:
            return "8bit", message_class
        alphabet = (dcs >> 2) & 0x03
        return ("gsm7", "8bit", "ucs2", "gsm7")[alphabet], message_class
    if group in (0xC, 0xD):  # message waiting indication, GSM 7-bit
        return "gsm7", None
    if group == 0xE:  # message waiting indication, UCS2
        return "ucs2", None
    if group == 0xF:  # data coding / message class
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03
    return "gsm7", None  # 0x8..0xB: reserved coding groups


def _iter_ies(header: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """Information elements of a UDH body; ``offset`` is where the body starts."""
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise PDUError("UDH: information element header cut off", offset=offset + pos, field="UDH")
        iei, length = header[pos], header[pos + 1]
        if pos + 2 + length > len(header):
            raise PDUError(
                f"UDH: IE 0x{iei:02X} length {length} overruns the header",
                offset=offset + pos + 1,
                field="UDH",
            )
        yield iei, header[pos + 2 : pos + 2 + length]
        pos += 2 + length


def _concat_from(udh: Udh, offset: int) -> Concat | None:
    for iei, data in udh:
        if iei == _IEI_CONCAT_8:
            if len(data) != 3:
                raise PDUError(f"UDH: concatenation IE length {len(data)}, must be 3", offset=offset, field="UDH")
            ref, total, seq = data
        elif iei == _IEI_CONCAT_16:
            if len(data) != 4:
                raise PDUError(f"UDH: concatenation IE length {len(data)}, must be 4", offset=offset, field="UDH")
            ref, total, seq = (data[0] << 8) | data[1], data[2], data[3]
        else:
            continue
        # 23.040 9.2.3.24.1: a zero or out-of-range sequence means the IE is ignored.
        if total == 0 or seq == 0 or seq > total:
            return None
        return Concat(ref, total, seq)
    return None


@dataclass(frozen=True)
class _UserData:
    text: str | None
    data: bytes
    encoding: str
    udh: Udh
    concat: Concat | None
    message_class: int | None


def _read_user_data(r: _Reader, dcs: int, udhi: bool) -> _UserData:
    """TP-UDL + TP-UD: header, then text in the DCS alphabet. Must end the PDU."""
    encoding, message_class = _parse_dcs(dcs)
    udl_offset = r.pos
    udl = r.octet("TP-UDL")
    if encoding == "gsm7":
        if udl > _MAX_UD_SEPTETS:
            raise PDUError(f"TP-UDL {udl} exceeds {_MAX_UD_SEPTETS} septets", offset=udl_offset, field="TP-UDL")
        n_octets = (udl * 7 + 7) // 8
    else:
        if udl > _MAX_UD_OCTETS:
            raise PDUError(f"TP-UDL {udl} exceeds {_MAX_UD_OCTETS} octets", offset=udl_offset, field="TP-UDL")
        n_octets = udl
    ud_offset = r.pos
    ud = r.take(n_octets, "TP-UD")
    if r.remaining():
        raise PDUError(
            f"{r.remaining()} unexpected octet(s) after the user data", offset=r.pos, field="TP-UD"
        )

    udh: Udh = []
    header_len = 0
    if udhi:
        if not ud:
            raise PDUError("TP-UDHI set but the user data is empty", offset=ud_offset, field="UDH")
        header_len = ud[0] + 1
        if header_len > len(ud):
            raise PDUError(
                f"UDH length {ud[0]} overruns the {len(ud)}-octet user data", offset=ud_offset, field="UDH"
            )
        udh = [(iei, bytes(data)) for iei, data in _iter_ies(ud[1:header_len], ud_offset + 1)]
    concat = _concat_from(udh, ud_offset + 1)

    body_offset = ud_offset + header_len
    if encoding == "gsm7":
        header_septets = _gsm7_header_septets(header_len)
        n_septets = udl - header_septets
        if n_septets < 0:
            raise PDUError(
                f"TP-UDL {udl} septets is shorter than the {header_len}-octet UDH",
                offset=udl_offset,
                field="TP-UDL",
            )
        fill = header_septets * 7 - header_len * 8
        try:
            septets = _pdu.unpack7(ud[header_len:], n_septets, fill)
        except ValueError as e:  # cannot happen given the checks above; never let it escape raw
            raise PDUError(f"TP-UD: {e}", offset=body_offset, field="TP-UD") from None
        return _UserData(_pdu.gsm7_decode(septets), septets, "gsm7", udh, concat, message_class)

    body = ud[header_len:]
    if encoding == "ucs2":
        if len(body) % 2:
            raise PDUError(
                f"UCS2 user data has an odd number of octets ({len(body)})", offset=body_offset, field="TP-UD"
            )
        # surrogatepass: a sender may have cut a surrogate pair between parts;
        # keep the half rather than fail, ``data`` lets the caller rejoin.
        return _UserData(body.decode("utf-16-be", "surrogatepass"), body, "ucs2", udh, concat, message_class)
    return _UserData(None, body, "8bit", udh, concat, message_class)


def _decode_deliver(r: _Reader, first: int, smsc: str | None) -> Deliver:
    number = _read_address(r, "TP-OA")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    timestamp = _read_timestamp(r, "TP-SCTS")
    ud = _read_user_data(r, dcs, bool(first & 0x40))
    return Deliver(
        smsc=smsc, number=number, text=ud.text, data=ud.data, encoding=ud.encoding,
        concat=ud.concat, udh=ud.udh, message_class=ud.message_class,
        timestamp=timestamp, pid=pid, dcs=dcs,
    )


def _decode_submit(r: _Reader, first: int, smsc: str | None) -> Submit:
    reference = r.octet("TP-MR")
    number = _read_address(r, "TP-DA")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    validity = _read_validity(r, (first >> 3) & 0x03)
    ud = _read_user_data(r, dcs, bool(first & 0x40))
    return Submit(
        smsc=smsc, number=number, text=ud.text, data=ud.data, encoding=ud.encoding,
        concat=ud.concat, udh=ud.udh, message_class=ud.message_class,
        reference=reference, validity=validity,
        status_report_requested=bool(first & 0x20), reject_duplicates=bool(first & 0x04),
        pid=pid, dcs=dcs,
    )


def _decode_status_report(r: _Reader, first: int, smsc: str | None) -> StatusReport:
    reference = r.octet("TP-MR")
    number = _read_address(r, "TP-RA")
    timestamp = _read_timestamp(r, "TP-SCTS")
    discharge_time = _read_timestamp(r, "TP-DT")
    status = r.octet("TP-ST")
    pid = dcs = None
    ud = _UserData(None, b"", "gsm7", [], None, None)
    if r.remaining():  # TP-PI and what it announces are optional (23.040 9.2.3.27)
        pi = r.octet("TP-PI")
        extension = pi
        while extension & 0x80:  # further TP-PI octets: nothing defined in them yet
            extension = r.octet("TP-PI extension")
        if pi & 0x01:
            pid = r.octet("TP-PID")
        if pi & 0x02:
            dcs = r.octet("TP-DCS")
        if pi & 0x04:
            ud = _read_user_data(r, dcs or 0, bool(first & 0x40))
        elif r.remaining():
            raise PDUError(f"{r.remaining()} unexpected octet(s) at the end", offset=r.pos, field="TP-PI")
    return StatusReport(
        smsc=smsc, reference=reference, number=number, status=status,
        timestamp=timestamp, discharge_time=discharge_time,
        text=ud.text, data=ud.data, encoding=ud.encoding, concat=ud.concat, udh=ud.udh,
        message_class=ud.message_class, pid=pid, dcs=dcs,
    )


def decode(pdu: str | bytes, *, smsc: bool = True) -> Message:
    """Decode one PDU as read from the modem (AT+CMGR / +CMT / +CDS).

    ``pdu`` is hex text (str) or the raw octets (bytes). ``smsc=False`` for
    a bare TPDU without the leading SMSC part (some modems' +CDS). The TP-MTI
    picks the result type: SMS-DELIVER, SMS-SUBMIT, SMS-STATUS-REPORT; the
    reserved value 3 is read as SMS-DELIVER, as 23.040 9.2.3.1 tells a
    receiver to. Raises only PDUError on malformed or truncated input.
    """
    r = _Reader(_to_octets(pdu))
    try:
        sc = _read_smsc(r) if smsc else None
        first = r.octet("first octet")
        mti = first & 0x03
        if mti == _MTI_SUBMIT:
            return _decode_submit(r, first, sc)
        if mti == _MTI_STATUS_REPORT:
            return _decode_status_report(r, first, sc)
        return _decode_deliver(r, first, sc)
    except PDUError:
        raise
    except ValueError as e:  # from _pdu; the checks above should make this unreachable
        raise PDUError(f"malformed: {e}", offset=r.pos) from None
