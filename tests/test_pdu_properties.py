"""Property tests of the PDU codec (hypothesis) and differential tests against
python-gsmmodem-new's pure-Python codec (gsmmodem.pdu).

- every text in every alphabet (default, extension table, the national
  tables, any Unicode, 8-bit data) survives encode_submit / encode_deliver
  -> decode, in as many parts as count() says;
- decode() on any input only ever returns a result or raises PDUError;
- on the cases gsmmodem supports, both codecs read each other's PDUs the
  same way.
"""

from __future__ import annotations

import random
import string
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from appliance.pdu import (
    Concat,
    Deliver,
    PDUError,
    StatusReport,
    Submit,
    _pdu,
    count,
    decode,
    encode_deliver,
    encode_submit,
)

gsmmodem_pdu = pytest.importorskip("gsmmodem.pdu")

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = "\f^{}\\[~]|€"
TURKISH = "ŞşĞğİıÇç€"
SPANISH = "ÁáÍíÓóÚúç"
PORTUGUESE = "êçÔôÁáªÇÀ∞^\\€Ó|ÂâÊºÍÃÕÚ~ãõ`ΦΓΩΠΨΣΘ"
LANGS = ["turkish", "spanish", "portuguese"]

gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXT, max_size=700)
national_text = st.text(alphabet=GSM_BASIC + GSM_EXT + TURKISH + SPANISH + PORTUGUESE, max_size=500)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
number = st.from_regex(r"\+?[0-9*#]{1,20}", fullmatch=True)
languages = st.lists(st.sampled_from([*LANGS, 1, 2, 3]), max_size=3)
concat_reference = st.none() | st.integers(0, 65535)
timestamps = st.builds(
    lambda dt, minutes: dt.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2089, 12, 30)),
    st.integers(-23 * 60, 23 * 60),
)


def _texts(parts) -> str:
    decoded = [decode(p.pdu) for p in parts]
    return "".join(m.text for m in decoded)


def _check_parts(parts, text, *, concat_ref, kind):
    assert 1 <= len(parts) <= 255
    decoded = [decode(p.pdu) for p in parts]
    for i, (part, m) in enumerate(zip(parts, decoded, strict=True)):
        assert isinstance(m, kind)
        raw = _pdu.hex_decode(part.pdu)
        assert part.pdu == part.pdu.upper()
        assert part.tpdu_length == len(raw) - 1 - raw[0]
        if len(parts) > 1:
            assert m.concat == Concat(concat_ref, len(parts), i + 1)
        else:
            assert m.concat is None
        assert len(m.data) <= 160
    if isinstance(text, bytes):
        assert b"".join(m.data for m in decoded) == text
    else:
        assert "".join(m.text for m in decoded) == text
    return decoded


# ------------------------------------------------------------ round trips


class TestRoundTrips:
    @SETTINGS
    @given(text=gsm_text | national_text | any_text, num=number, langs=languages, ref=concat_reference,
           reference=st.integers(0, 255), status_report=st.booleans(), cls=st.none() | st.integers(0, 3))
    def test_submit(self, text, num, langs, ref, reference, status_report, cls):
        parts = encode_submit(num, text, national_languages=langs, concat_reference=ref, reference=reference,
                              status_report=status_report, message_class=cls)
        if ref is None or ref <= 255:
            assert len(parts) == count(text, national_languages=langs).parts
        decoded = _check_parts(parts, text, concat_ref=reference if ref is None else ref, kind=Submit)
        for i, m in enumerate(decoded):
            assert m.number == num and m.reference == (reference + i) & 0xFF
            assert m.status_report_requested == status_report and m.message_class == cls

    @SETTINGS
    @given(text=gsm_text | national_text | any_text, langs=languages, ref=concat_reference, ts=timestamps,
           sender=number | st.text(alphabet=string.ascii_letters + " @", min_size=1, max_size=11))
    def test_deliver(self, text, langs, ref, ts, sender):
        assume(any(c not in "0123456789*#+" for c in sender) or sender.lstrip("+") != "")
        try:
            parts = encode_deliver(sender, text, timestamp=ts, national_languages=langs, concat_reference=ref)
        except PDUError as e:  # a name like "+" or "++1" is neither a number nor a name
            assert e.field == "number"
            return
        decoded = _check_parts(parts, text, concat_ref=ref or 0, kind=Deliver)
        for m in decoded:
            assert m.number == sender and m.timestamp == ts.replace(microsecond=0)

    @SETTINGS
    @given(data=st.binary(max_size=600), ref=concat_reference)
    def test_eight_bit(self, data, ref):
        parts = encode_submit("123", data, concat_reference=ref)
        _check_parts(parts, data, concat_ref=0 if ref is None else ref, kind=Submit)
        assert len(parts) == count(data).parts

    @SETTINGS
    @given(text=gsm_text)
    def test_default_alphabet_needs_no_header_and_no_ucs2(self, text):
        c = count(text, national_languages=LANGS)
        assert (c.encoding, c.locking_shift, c.single_shift) == ("gsm7", None, None)
        septets = len(_pdu.gsm7_encode(text))
        assert c.parts == 1 if septets <= 160 else c.parts >= -(-septets // 153)

    @SETTINGS
    @given(text=national_text)
    def test_national_tables_never_cost_more_parts_than_ucs2(self, text):
        with_tables = count(text, national_languages=LANGS)
        without = count(text)
        assert with_tables.parts <= without.parts
        if without.encoding == "gsm7":
            assert with_tables == without

    @SETTINGS
    @given(text=any_text, langs=languages)
    def test_count_remaining_is_consistent(self, text, langs):
        c = count(text, national_languages=langs)
        assert 0 <= c.remaining <= c.per_part
        assert c.per_part in (160, 155, 152, 153, 149, 146, 70, 67)


# ------------------------------------------------------------ hex and septets

HEX_DIGITS = "0123456789abcdefABCDEF"


class TestBitPrimitives:
    """The hex decoder (a table, errors found after the loop) and the septet
    unpacker (8 septets from one 64-bit load at a time): every byte at every
    position, and random lengths, against plain references."""

    def test_hex_every_byte_at_every_position(self):
        rng = random.Random(5)
        for length in (16, 17, 31, 32, 33, 48):
            base = "".join(rng.choice(HEX_DIGITS) for _ in range(length))
            for pos in range(length):
                for b in range(256):
                    s = base[:pos] + chr(b) + base[pos + 1:]
                    if chr(b) in HEX_DIGITS and length % 2 == 0:
                        assert _pdu.hex_decode(s) == bytes.fromhex(s)
                        continue
                    with pytest.raises(ValueError) as info:
                        _pdu.hex_decode(s)
                    if chr(b) not in HEX_DIGITS:
                        assert f"offset {pos}" in str(info.value)
                        with pytest.raises(PDUError) as info:
                            decode(s)
                        assert (info.value.offset, info.value.field) == (pos // 2, "hex")

    @SETTINGS
    @given(data=st.binary(max_size=300), upper=st.booleans())
    def test_hex_round_trip(self, data, upper):
        text = data.hex().upper() if upper else data.hex()
        assert _pdu.hex_decode(text) == _pdu.hex_decode(text.encode()) == data
        assert _pdu.hex_encode(data) == data.hex().upper()

    @SETTINGS
    @given(septets=st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), fill=st.integers(0, 6))
    def test_septets_against_a_bit_string(self, septets, fill):
        packed = _pdu.pack7(septets, fill)
        bits = "0" * fill + "".join(format(s, "07b")[::-1] for s in septets)  # least significant bit first
        bits += "0" * (-len(bits) % 8)
        assert packed == bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))
        assert _pdu.unpack7(packed, len(septets), fill) == septets


# ------------------------------------------------------------ hostile input


class TestHostileInput:
    @SETTINGS
    @given(raw=st.binary(max_size=300), smsc=st.booleans())
    def test_decode_arbitrary_bytes(self, raw, smsc):
        try:
            m = decode(raw, smsc=smsc)
        except PDUError as e:
            assert e.offset is not None and 0 <= e.offset <= len(raw)
            assert str(e).startswith(f"octet {e.offset}: ")
            return
        assert isinstance(m, (Deliver, Submit, StatusReport))

    @SETTINGS
    @given(text=st.text(max_size=200) | st.text(alphabet="0123456789ABCDEFabcdef", max_size=400))
    def test_decode_arbitrary_text(self, text):
        try:
            decode(text)
        except PDUError:
            pass

    @SETTINGS
    @given(seed=st.integers(0, 2**32 - 1), text=any_text, edits=st.integers(1, 6))
    def test_mutated_real_pdus(self, seed, text, edits):
        rng = random.Random(seed)
        parts = encode_submit("+4915112345678", text, national_languages=LANGS, smsc="+4917")
        raw = bytearray(_pdu.hex_decode(rng.choice(parts).pdu))
        for _ in range(edits):
            op = rng.randrange(3)
            if op == 0:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            elif op == 1 and len(raw) > 1:
                del raw[rng.randrange(len(raw))]
            else:
                raw.insert(rng.randrange(len(raw) + 1), rng.randrange(256))
        try:
            m = decode(bytes(raw))
        except PDUError:
            return
        assert isinstance(m, (Deliver, Submit, StatusReport))

    def test_no_memory_growth_on_success_and_error_paths(self):
        # A leaked reference per call (a field, a part, an exception's message) shows up as growth.
        good = [p.pdu for p in encode_submit("+49151", "ж😀" * 60, national_languages=LANGS)]
        good += [p.pdu for p in encode_deliver("Bank", "ışık " * 50, timestamp=datetime.now(UTC),
                                               national_languages=LANGS)]
        bad = [g[:-2] for g in good] + [g + "00" for g in good] + ["0G", "123", b"\x00", 12]

        def work():
            for _ in range(30):
                for p in good:
                    decode(p)
                    decode(_pdu.hex_decode(p))
                for p in bad:
                    try:
                        decode(p)
                    except PDUError:
                        pass
                encode_submit("+4915112345678", "hello " * 50, smsc="+4917", validity=timedelta(hours=5))
                encode_deliver("Google", "ж" * 100, timestamp=datetime(2020, 1, 1, tzinfo=UTC))
                count("ş" * 300, national_languages=LANGS)
                for call in (lambda: encode_submit("12a", "x"), lambda: encode_submit("1", "x", reference=300),
                             lambda: encode_submit("1", "a\ud800"), lambda: count("ж", encoding="gsm7")):
                    try:
                        call()
                    except PDUError:
                        pass

        work()  # warm caches (time zones, interned strings)
        tracemalloc.start()
        try:
            work()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(5):
                work()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert after - before < 20_000, after - before


# ------------------------------------------------------------ gsmmodem.pdu


# gsmmodem.pdu maps septet 0x5F to and from "`" where 23.038 has "§", has no form feed
# (0x1B 0x0A) in its extension table, writes U+001B as a bare escape septet
# (which 23.038 shows as a space), drops a final "@" (septet 0x00) when the
# septets fill the last octet exactly, raises TypeError on some characters
# outside the GSM alphabet (e.g. "ÿ") and cannot write characters outside the
# BMP in UCS2: those are left out of the differential cases.
DIFF_GSM = GSM_BASIC.replace("§", "").replace("@", "") + GSM_EXT.replace("\f", "")
diff_gsm_text = st.text(alphabet=DIFF_GSM, min_size=1, max_size=500)
diff_ucs2_text = st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)),
                         min_size=1, max_size=300).filter(lambda t: not set(t) & {"§", "`", "@", "\f", "\x1b"})
diff_number = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)


class TestAgainstGsmmodem:
    @SETTINGS
    @given(text=diff_gsm_text | diff_ucs2_text, num=diff_number, reference=st.integers(0, 255))
    def test_we_read_their_submits(self, text, num, reference):
        try:
            theirs = gsmmodem_pdu.encodeSmsSubmitPdu(num, text, reference=reference, requestStatusReport=False)
        except (TypeError, ValueError):  # a text gsmmodem cannot encode
            assume(False)
        decoded = [decode(str(p)) for p in theirs]
        assert "".join(m.text for m in decoded) == text
        for p, m in zip(theirs, decoded, strict=True):
            assert m.number == num and m.reference == reference
            assert p.tpduLength == len(_pdu.hex_decode(str(p))) - 1
        if len(theirs) > 1:
            assert [m.concat for m in decoded] == [Concat(reference, len(theirs), i + 1) for i in range(len(theirs))]
        # and both cut the text into the same number of parts
        assert len(encode_submit(num, text)) == len(theirs)

    @SETTINGS
    @given(text=diff_gsm_text | diff_ucs2_text, num=diff_number, reference=st.integers(0, 255),
           validity=st.none() | st.integers(0, 255))
    def test_they_read_our_submits(self, text, num, reference, validity):
        vp = None if validity is None else timedelta(seconds=_vp_seconds(validity))
        ours = encode_submit(num, text, reference=reference, validity=vp)
        results = [gsmmodem_pdu.decodeSmsPdu(p.pdu) for p in ours]
        assert "".join(r["text"] for r in results) == text
        for p, r in zip(ours, results, strict=True):
            assert r["number"] == num and r["type"] == "SMS-SUBMIT"
            assert r["tpdu_length"] == p.tpdu_length
            assert r.get("validity") == vp

    # gsmmodem reads two-digit years with strptime's %y (69..99 are 1969..1999); we read
    # 90..99 as the 1990s and 00..89 as 2000..2089. They agree on 2000..2068.
    @SETTINGS
    @given(when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2068, 12, 31)),
           quarters=st.integers(-79, 79), text=diff_gsm_text)
    def test_deliver_timestamps_agree(self, when, quarters, text):
        ts = when.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=15 * quarters)))
        part = encode_deliver("+4915112345678", text[:100], timestamp=ts)[0]
        theirs = gsmmodem_pdu.decodeSmsPdu(part.pdu)
        ours = decode(part.pdu)
        assert theirs["time"].replace(tzinfo=None) == ours.timestamp.replace(tzinfo=None) == ts.replace(tzinfo=None)
        assert theirs["time"].utcoffset() == ours.timestamp.utcoffset() == ts.utcoffset()
        assert theirs["text"] == ours.text and theirs["number"] == ours.number

    @pytest.mark.parametrize("vp", range(256))
    def test_relative_validity_periods_agree(self, vp):
        pdu = f"0011000381 21F3 0000 {vp:02X} 0161".replace(" ", "")
        assert decode(pdu).validity == gsmmodem_pdu.decodeSmsPdu(pdu)["validity"]

    def test_status_report_agrees(self):
        pdu = "0006000B910221815716F2709021510121807090215101718000"
        theirs, ours = gsmmodem_pdu.decodeSmsPdu(pdu), decode(pdu)
        assert (theirs["reference"], theirs["number"], theirs["status"]) == (ours.reference, ours.number, ours.status)
        assert theirs["discharge"].utcoffset() == ours.discharge_time.utcoffset()


def _vp_seconds(vp: int) -> int:
    """The period a relative TP-VP stands for (23.040 9.2.3.12.1), to make
    validities that both encoders write exactly."""
    if vp <= 143:
        return (vp + 1) * 300
    if vp <= 167:
        return 12 * 3600 + (vp - 143) * 1800
    if vp <= 196:
        return (vp - 166) * 86400
    return (vp - 192) * 7 * 86400
