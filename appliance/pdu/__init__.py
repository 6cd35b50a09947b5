"""SMS PDU codec: SMS-SUBMIT / SMS-DELIVER encoding; SMS-DELIVER, SUBMIT and STATUS-REPORT decoding.

References: 3GPP TS 23.040 (the TPDU layouts) and TS 23.038 (alphabets, the
national language shift tables of Annex A, the data coding scheme).

Layout:

- ``pdu_core.c`` / ``pdu_core.h``: the bit work in plain C with no Python in
  it - septet packing, the alphabet tables, parsing a PDU into a C struct
  with every length checked, cutting a text into parts and writing TPDUs.
  It is what ``fuzz/fuzz_decode.c`` runs under libFuzzer and the sanitizers.
- ``_pdu.c``: the glue. It turns the core's structs straight into the
  result objects below (small immutable C types) and parses the encoders'
  arguments, so a decode or an encode is one C call.
- ``tests/pdu_policy.py``: the encoding policy (which alphabet, which
  national table, where a long text is cut, which header fields are written)
  as readable Python, beside the tests that hold the C encoder to it on
  random texts. The C encoder follows the same rules for speed.
- this module: the public API and :class:`PDUError`.

API:

``decode(pdu, *, smsc=True, strict=True) -> Deliver | Submit | StatusReport``
    ``pdu`` is hex (str) or octets (bytes-like); ``smsc=False`` for a bare
    TPDU; ``strict=False`` for what is received (see Lenient decoding
    below). Attributes of every result: ``smsc``, ``number``, ``text``,
    ``data``, ``encoding`` ("gsm7" / "ucs2" / "8bit"), ``concat``
    (:class:`Concat` or None), ``udh`` (list of ``(iei, bytes)``, unknown
    IEs included), ``message_class``, ``pid``, ``dcs``, ``toa`` (type of
    address of ``number``), ``mwi`` (:class:`Mwi` for the message waiting
    DCS groups, else None). :class:`Deliver` adds ``timestamp``,
    ``reply_path``, ``status_report_indication``, ``more_messages``;
    :class:`Submit` adds ``reference``, ``validity`` (timedelta for the
    relative and enhanced formats, aware datetime for the absolute one, or
    None), ``status_report_requested``, ``reject_duplicates``,
    ``reply_path``; :class:`StatusReport` adds ``reference``, ``status``,
    ``timestamp``, ``discharge_time``. Every result ends with ``repairs``:
    a tuple of notes (str), one per repair, ``()`` from a strict decode.
    Each class's ``_fields`` lists its
    attributes in order; the objects are immutable, compare and hash by
    value, pickle, and support ``_replace(**changes)``.

``encode_submit(number, text, *, smsc=None, encoding="auto", status_report=False,
validity=None, reference=0, concat_reference=None, message_class=None,
reject_duplicates=False, national_languages=()) -> list[Part]``

``encode_deliver(number, text, *, smsc=None, timestamp, encoding="auto",
concat_reference=None, message_class=None, national_languages=()) -> list[Part]``
    :class:`Part` has ``pdu`` (upper-case hex with the SMSC part) and
    ``tpdu_length`` (the number for ``AT+CMGS=``).

``count(text, *, encoding="auto", national_languages=()) -> Count``
    ``parts``, ``encoding``, ``per_part``, ``remaining`` (and
    ``locking_shift`` / ``single_shift``: the national language in use).

``national_languages`` names the national language shift tables the
recipient's phone is expected to have, in order of preference:
"turkish", "spanish", "portuguese" (or 1, 2, 3). They are used only when
the text does not fit the default alphabet; then the table (single shift,
locking shift or both) that gives the fewest parts wins over UCS2.

Lenient decoding (``strict=False``): networks and modems deliver PDUs with
faults that the mature stacks (Gammu, Android, python-gsmmodem) read
anyway, and so does this; a message lost to a strict reading is worse than
one read with a note. Repaired, each with a note in ``repairs``:

- octets after the user data (or after a status report): ignored;
- a TP-UDL above 160 septets / 140 octets: read as the maximum;
- a TP-UDL longer than the octets present: what is there is decoded;
- UCS2 user data of an odd length: the last octet ignored;
- a lone surrogate in UCS2 text: U+FFFD in ``text`` (``data`` keeps the
  units as sent, so parts cut inside a pair can still be joined);
- TP-UDHI over empty user data: no header;
- a UDH information element overrunning the header: it and the rest of
  the header ignored (the text after the header is read as usual);
- a concatenation IE of the wrong length, a national language IE of the
  wrong length or naming a table not here: ignored (the default tables);
- a time zone that is not BCD: UTC, the time kept; a digit of the time
  that is not BCD: read as 0; a time that is then no valid date: the time
  of decoding (UTC) instead, and an absolute TP-VP left out;
- a filler nibble F inside an address: the number ends there;
- a status report ending before a TP-PI extension octet or before the
  fields its TP-PI announces: the fields before stand; a TP-PI with its
  reserved bits 3-6 set: it and what follows ignored.

Errors: every malformed or truncated input raises :class:`PDUError` (a
``ValueError``) whose message says which octet and why; invalid arguments
to the encoders raise it naming the argument. Nothing else escapes. A
lenient decode raises it too for what it cannot read (a PDU cut short
before its user data, a header longer than the user data, an address or
SMSC part too long for the field).
National language tables other than Turkish, Spanish and Portuguese
(Annex A's Indian languages and Urdu) are not here: a 7-bit PDU whose UDH
selects one raises PDUError rather than decode to the wrong text.

Not here: SMS-COMMAND, SMS-SUBMIT-REPORT / DELIVER-REPORT, compressed text
(returned as 8-bit data), encoding the enhanced validity format.
"""

from __future__ import annotations


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


from . import _pdu  # noqa: E402  (PDUError must exist before the C module is told about it)

_pdu._init(PDUError)

from ._pdu import (  # noqa: E402
    Concat,
    Count,
    Deliver,
    Mwi,
    Part,
    StatusReport,
    Submit,
    count,
    decode,
    encode_deliver,
    encode_submit,
)

Message = Deliver | Submit | StatusReport

#: National language identifiers (23.038 6.2.1.2.4) of the shift tables here.
LANGUAGES: dict[str, int] = dict(_pdu.LANGUAGES)

__all__ = [
    "LANGUAGES",
    "Concat",
    "Count",
    "Deliver",
    "Message",
    "Mwi",
    "PDUError",
    "Part",
    "StatusReport",
    "Submit",
    "count",
    "decode",
    "encode_deliver",
    "encode_submit",
]
