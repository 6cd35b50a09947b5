/*
 * libFuzzer harness for the PDU codec core (appliance/pdu/pdu_core.c).
 *
 * Input: one option octet, then the PDU octets.
 *   option bit 0: the PDU starts with the SMSC part
 *   option bit 1: also read the octets as hex text and parse that
 *   option bit 2: allow the national language tables when re-encoding
 *   option bit 3: re-encode as SMS-DELIVER (else SMS-SUBMIT)
 *   option bit 4: 16-bit concatenation reference when re-encoding
 *   option bits 5-6: the alphabet asked for when encoding the raw octets
 *                    as text (auto, gsm7, ucs2, 8bit)
 *   option bit 7: parse with PDU_LENIENT too, and hold the two parses to
 *                 each other: the lenient one reads what the strict one
 *                 does, and what it refuses only with a repair note
 *
 * For every input:
 *   1. pdu_parse() on an exact-size heap copy (so ASan sees any read past
 *      the end); on failure the error must be well formed; on success the
 *      message must be internally consistent (every count and offset
 *      within its buffer, every septet 7-bit, every code point valid);
 *   2. round trip: the decoded text (or 8-bit data) is planned, cut and
 *      written as TPDUs with pdu_plan_text() / pdu_build_tpdu(), each TPDU
 *      parsed again, and the pieces must give back the same text - this
 *      runs the encoder half on texts the decoder produced from hostile
 *      input (national tables, odd escapes, surrogate pairs);
 *   3. the septet packer and the hex codec on the raw octets;
 *   4. the encoder on the raw octets taken as text (1-, 2- and 4-octet code
 *      units), as an address (numeric or alphanumeric) and as a time: what
 *      it accepts must parse back to the same thing, what it refuses must
 *      come with the right error.
 * Any violation aborts (a finding). Build and run: see fuzz/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdu_core.h"

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                   \
        }                                                                              \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pdu_core_init();
    return 0;
}

static void
check_address(const pdu_address *a)
{
    CHECK(a->len <= PDU_MAX_ADDR_DIGITS + 1);
    for (size_t i = 0; i < a->len; i++)
        CHECK(a->text[i] > 0 && a->text[i] <= 0xFFFF);
}

static void
check_time(const pdu_time *t)
{
    CHECK(t->year >= 1990 && t->year <= 2089);
    CHECK(t->month >= 1 && t->month <= 12 && t->day >= 1 && t->day <= 31);
    CHECK(t->hour <= 23 && t->minute <= 59 && t->second <= 59);
    CHECK(t->tz_minutes % 15 == 0 && t->tz_minutes >= -79 * 15 && t->tz_minutes <= 79 * 15);
}

/* The highest bit set, as a str width class: 0x80, 0x100, 0x10000, 0x110000. */
static unsigned
width_class(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 4;
}

/* Checks the parse, then fills m->text if the text was left in the body. */
static void
check_message(pdu_message *m, const uint8_t *pdu, size_t len)
{
    CHECK(m->mti == PDU_DELIVER || m->mti == PDU_SUBMIT || m->mti == PDU_STATUS_REPORT);
    if (m->has_smsc)
        check_address(&m->smsc);
    check_address(&m->number);
    CHECK(m->encoding == PDU_GSM7 || m->encoding == PDU_8BIT || m->encoding == PDU_UCS2);
    CHECK(m->message_class >= -1 && m->message_class <= 3);
    CHECK(m->n_repairs <= PDU_MAX_REPAIRS + 1);
    for (size_t i = 0; i < m->n_repairs && i < PDU_MAX_REPAIRS; i++)
        CHECK(memchr(m->repairs[i], '\0', PDU_REPAIR_LEN) != NULL && m->repairs[i][0] != '\0');
    if (m->mti != PDU_SUBMIT && !(m->times_lost & PDU_LOST_SCTS))
        check_time(&m->scts);
    if (m->mti == PDU_STATUS_REPORT && !(m->times_lost & PDU_LOST_DISCHARGE))
        check_time(&m->discharge);
    if (m->mti == PDU_SUBMIT && m->vp_kind == PDU_VP_ABSOLUTE)
        check_time(&m->vp_time);
    if (m->vp_kind == PDU_VP_RELATIVE)
        CHECK(m->vp_seconds >= 0 && m->vp_seconds <= 63L * 7 * 86400);
    CHECK(m->n_ies <= PDU_MAX_IES);
    for (size_t i = 0; i < m->n_ies; i++)
        CHECK((size_t)m->ies[i].offset + m->ies[i].len <= len);
    if (m->has_concat)
        CHECK(m->concat_total >= 1 && m->concat_seq >= 1 && m->concat_seq <= m->concat_total);
    CHECK(m->locking >= 0 && m->locking < PDU_LANG_COUNT);
    CHECK(m->single >= 0 && m->single < PDU_LANG_COUNT);
    if (m->has_ud) {
        CHECK(m->body_offset + m->body_len <= len);
        CHECK(m->n_septets <= PDU_MAX_UD_SEPTETS);
        for (size_t i = 0; i < m->n_septets; i++)
            CHECK(m->septets[i] < 0x80);
    }
    CHECK(m->n_text <= PDU_MAX_UD_SEPTETS);
    CHECK(!m->text_utf16 || (m->encoding == PDU_UCS2 && m->n_text * 2 == m->body_len));
    uint32_t bound = m->text_max;
    int utf16 = m->text_utf16;
    pdu_message_text(m, pdu);
    CHECK(!utf16 || (m->text_max <= bound && width_class(m->text_max) == width_class(bound)));
    CHECK(!m->text_utf16);
    uint32_t mx = 0;
    for (size_t i = 0; i < m->n_text; i++) {
        CHECK(m->text[i] <= 0x10FFFF);
        mx = m->text[i] > mx ? m->text[i] : mx;
    }
    CHECK(!m->has_text || mx == m->text_max);
    if (m->has_text && m->encoding == PDU_GSM7)
        CHECK(m->n_text <= m->n_septets);
}

static int
has_surrogate(const uint32_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= 0xD800 && t[i] <= 0xDFFF)
            return 1;
    return 0;
}

/* Encode a text (or octets) the way the Python encoders do and parse every
 * part back; the pieces must give the input again. */
static void
round_trip(const pdu_text *text, int requested, int options)
{
    static const int all_langs[3] = {PDU_LANG_TURKISH, PDU_LANG_SPANISH, PDU_LANG_PORTUGUESE};
    pdu_plan plan;
    pdu_error err;
    size_t nlangs = (options & 4) ? 3 : 0;
    int concat16 = (options & 16) != 0;
    if (pdu_plan_text(text, requested, all_langs, nlangs, concat16, &plan, &err) < 0) {
        CHECK(err.code == PDU_E_SURROGATE || err.code == PDU_E_UNENCODABLE);
        return;
    }
    CHECK(plan.parts >= 1 && plan.parts <= PDU_MAX_PARTS); /* <= 160 characters */
    CHECK(plan.last_units <= plan.per_part);

    pdu_header h;
    memset(&h, 0, sizeof h);
    static const uint32_t number[] = {'+', '4', '9', '1', '5', '1', '1', '2', '3'};
    pdu_text num = {number, sizeof number / sizeof number[0], 4};
    CHECK(pdu_encode_address(&num, 0, h.address, &h.address_len, &err) == 0);
    if (options & 8) {
        pdu_time ts = {2024, 2, 29, 23, 59, 59, -330};
        h.mti = PDU_DELIVER;
        h.first = 0x04;
        CHECK(pdu_encode_time(&ts, h.scts, &err) == 0);
    } else {
        h.mti = PDU_SUBMIT;
        h.first = 0x11;
        h.reference = (uint8_t)options;
        h.vp[0] = 0xAA;
        h.vp_len = 1;
    }
    h.dcs = plan.encoding == PDU_GSM7 ? 0x00 : plan.encoding == PDU_8BIT ? 0x04 : 0x08;
    h.concat_ref = concat16 ? 0xBEEF : 0x42;

    size_t pos = 0; /* characters / octets of the input matched so far */
    for (int i = 0; i < plan.parts; i++) {
        uint8_t units[2 * PDU_MAX_UD_OCTETS + 8], tpdu[PDU_MAX_TPDU];
        size_t n = pdu_part_units(text, &plan, i, units);
        size_t tl = pdu_build_tpdu(&h, i, (int)plan.parts, plan.encoding, plan.locking,
                                   plan.single, plan.concat16, units, n, tpdu);
        CHECK(tl > 0);
        pdu_message *m = malloc(sizeof *m);
        CHECK(m != NULL);
        uint8_t *copy = malloc(tl);
        CHECK(copy != NULL);
        memcpy(copy, tpdu, tl);
        if (pdu_parse(copy, tl, 0, m, &err) != 0) {
            fprintf(stderr, "re-parse failed: %s at %zu\n", err.msg, err.offset);
            abort();
        }
        check_message(m, copy, tl);
        CHECK(m->mti == h.mti && m->encoding == plan.encoding);
        CHECK(m->locking == plan.locking && m->single == plan.single);
        if (plan.parts > 1) {
            CHECK(m->has_concat && (int)m->concat_total == plan.parts);
            CHECK((int)m->concat_seq == i + 1 && m->concat_ref == h.concat_ref);
        } else {
            CHECK(!m->has_concat);
        }
        if (plan.encoding == PDU_8BIT) {
            CHECK(pos + m->body_len <= text->len);
            CHECK(memcmp(copy + m->body_offset, (const uint8_t *)text->data + pos, m->body_len) == 0);
            pos += m->body_len;
        } else {
            CHECK(m->has_text && pos + m->n_text <= text->len);
            for (size_t k = 0; k < m->n_text; k++)
                CHECK(m->text[k] == pdu_text_at(text, pos + k));
            pos += m->n_text;
            if (plan.encoding == PDU_GSM7) /* no part ends in a dangling escape */
                CHECK(m->n_septets == 0 || m->septets[m->n_septets - 1] != PDU_ESC ||
                      (m->n_septets >= 2 && m->septets[m->n_septets - 2] == PDU_ESC));
        }
        free(copy);
        free(m);
    }
    CHECK(pos == text->len);
}

/* Hex digits to octets the plain way, for comparison with pdu_hex_decode
 * (which checks the digits only after its loop). */
static int
ref_hex(const uint8_t *s, size_t n, uint8_t *out, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))) {
            *bad = i;
            return -1;
        }
    }
    if (n % 2) {
        *bad = n;
        return -1;
    }
    for (size_t i = 0; i < n; i += 2) {
        int v[2];
        for (int k = 0; k < 2; k++) {
            int c = s[i + (size_t)k];
            v[k] = c <= '9' ? c - '0' : c <= 'F' ? c - 'A' + 10 : c - 'a' + 10;
        }
        out[i / 2] = (uint8_t)(v[0] * 16 + v[1]);
    }
    return 0;
}

static void
check_hex(const uint8_t *data, size_t size)
{
    uint8_t *a = malloc(size / 2 + 1), *b = malloc(size / 2 + 1);
    size_t bad_a = 0, bad_b = 0;
    CHECK(a != NULL && b != NULL);
    int ra = pdu_hex_decode((const char *)data, size, a, &bad_a);
    int rb = ref_hex(data, size, b, &bad_b);
    CHECK(ra == rb);
    if (ra == 0)
        CHECK(memcmp(a, b, size / 2) == 0);
    else
        CHECK(bad_a == bad_b);
    free(a);
    free(b);
}

static void
check_packing(const uint8_t *data, size_t size)
{
    /* septets: pack then unpack gives the same values for every fill */
    uint8_t septets[64], packed[64], back[64];
    size_t n = size < 64 ? size : 64;
    for (size_t i = 0; i < n; i++)
        septets[i] = data[i] & 0x7F;
    for (unsigned fill = 0; fill < 7; fill++) {
        size_t pl = pdu_pack7(septets, n, fill, packed);
        CHECK(pl == pdu_packed_len(n, fill) && pl <= sizeof packed);
        CHECK(pdu_unpack7(packed, pl, n, fill, back) == 0);
        CHECK(memcmp(septets, back, n) == 0);
        if (n > 0) /* one octet short: refused, nothing read past it */
            CHECK(pdu_unpack7(packed, pl - 1, n, fill, back) == -1);
    }
    /* hex: encode then decode */
    char hex[128];
    uint8_t raw[64];
    size_t bad = 0;
    pdu_hex_encode(data, n, hex);
    CHECK(pdu_hex_decode(hex, 2 * n, raw, &bad) == 0 && memcmp(raw, data, n) == 0);
}

/* The encoder on texts, addresses and times made straight from the input. */
static void
encode_side(const uint8_t *data, size_t size, int options)
{
    static const int requested[4] = {PDU_AUTO, PDU_GSM7, PDU_UCS2, PDU_8BIT};
    int req = requested[(options >> 5) & 3];
    size_t n = size < 400 ? size : 400;

    /* the octets as text of each code unit width */
    pdu_text t1 = {data, n, 1};
    round_trip(&t1, req == PDU_8BIT ? PDU_8BIT : req, options);
    uint16_t w2[200];
    uint32_t w4[134];
    size_t n2 = n / 2, n4 = n / 3;
    for (size_t i = 0; i < n2; i++)
        w2[i] = (uint16_t)(data[2 * i] | (data[2 * i + 1] << 8));
    for (size_t i = 0; i < n4; i++)
        w4[i] = (uint32_t)(data[3 * i] | (data[3 * i + 1] << 8) | (data[3 * i + 2] << 16)) % 0x110000;
    pdu_text t2 = {w2, n2, 2}, t4 = {w4, n4, 4};
    if (req != PDU_8BIT) {
        round_trip(&t2, req, options);
        round_trip(&t4, req, options);
    }

    /* an address: numeric, or (for a DELIVER) alphanumeric */
    pdu_header h;
    pdu_error err;
    memset(&h, 0, sizeof h);
    pdu_text addr = {data, size < 24 ? size : 24, 1};
    if (pdu_encode_address(&addr, options & 8, h.address, &h.address_len, &err) == 0) {
        CHECK(h.address_len <= sizeof h.address);
        pdu_time ts = {2000, 1, 1, 0, 0, 0, 0};
        h.mti = PDU_DELIVER;
        h.first = 0x04;
        CHECK(pdu_encode_time(&ts, h.scts, &err) == 0);
        uint8_t tpdu[PDU_MAX_TPDU];
        size_t tl = pdu_build_tpdu(&h, 0, 1, PDU_8BIT, 0, 0, 0, data, 0, tpdu);
        CHECK(tl > 0);
        pdu_message *m = malloc(sizeof *m);
        CHECK(m != NULL);
        CHECK(pdu_parse(tpdu, tl, 0, m, &err) == 0);
        CHECK(m->number.len == addr.len); /* the same characters back */
        for (size_t i = 0; i < addr.len; i++)
            CHECK(m->number.text[i] == data[i]);
        free(m);
    } else {
        CHECK(err.code == PDU_E_NO_DIGITS || err.code == PDU_E_BAD_DIGIT ||
              err.code == PDU_E_TOO_LONG || err.code == PDU_E_UNENCODABLE);
    }
    pdu_text smsc = {data, size < 14 ? size : 14, 1};
    uint8_t sc[PDU_MAX_SMSC_PART];
    size_t sl;
    if (pdu_encode_smsc(&smsc, sc, &sl, &err) == 0)
        CHECK(sl == 2 + (smsc.len - (data[0] == '+') + 1) / 2 && sc[0] == sl - 1);

    /* relative validity: the smallest step that is at least the period */
    if (size >= 4) {
        long long secs = (long long)(data[0] | (data[1] << 8) | (data[2] << 16)) * (1 + data[3] % 64);
        int frac = data[3] >> 7;
        uint8_t vp = pdu_relative_vp(secs, frac);
        long period = pdu_relative_vp_seconds(vp);
        if (vp < 255)
            CHECK(period > secs || (period == secs && !frac));
        if (vp > 0)
            CHECK(pdu_relative_vp_seconds((uint8_t)(vp - 1)) < secs ||
                  (pdu_relative_vp_seconds((uint8_t)(vp - 1)) == secs && frac));
    }

    /* one unit too many for a part is refused, not written past the TPDU */
    {
        uint8_t units[2 * PDU_MAX_UD_OCTETS + 8] = {0}, tpdu[PDU_MAX_TPDU];
        memset(&h, 0, sizeof h);
        h.mti = PDU_SUBMIT;
        h.address_len = 2 + PDU_MAX_ADDR_DIGITS / 2;
        h.vp_len = 7;
        size_t cap = pdu_capacity(PDU_GSM7, pdu_udh_len(2, 1, 1, 1));
        CHECK(pdu_build_tpdu(&h, 0, 2, PDU_GSM7, 1, 1, 1, units, cap, tpdu) > 0);
        CHECK(pdu_build_tpdu(&h, 0, 2, PDU_GSM7, 1, 1, 1, units, cap + 1, tpdu) == 0);
        size_t room = PDU_MAX_UD_OCTETS - pdu_udh_len(2, 1, 0, 0); /* octets after the UDH */
        CHECK(pdu_build_tpdu(&h, 0, 2, PDU_UCS2, 0, 0, 1, units, room, tpdu) > 0);
        CHECK(pdu_build_tpdu(&h, 0, 2, PDU_UCS2, 0, 0, 1, units, room + 1, tpdu) == 0);
    }

    /* a time */
    if (size >= 8) {
        pdu_time t = {(uint16_t)(1980 + data[0] % 120), data[1], data[2], data[3], data[4], data[5],
                      (int16_t)((int8_t)data[6] * 15 + (data[7] & 1))};
        uint8_t raw[7];
        if (pdu_encode_time(&t, raw, &err) == 0) {
            pdu_time back;
            uint8_t tpdu[PDU_MAX_TPDU];
            memset(&h, 0, sizeof h);
            h.mti = PDU_SUBMIT;
            h.first = 0x19; /* absolute validity */
            h.address[0] = 1;
            h.address[1] = 0x81;
            h.address[2] = 0xF1;
            h.address_len = 3;
            memcpy(h.vp, raw, 7);
            h.vp_len = 7;
            size_t tl = pdu_build_tpdu(&h, 0, 1, PDU_8BIT, 0, 0, 0, data, 0, tpdu);
            pdu_message *m = malloc(sizeof *m);
            CHECK(m != NULL && tl > 0);
            CHECK(pdu_parse(tpdu, tl, 0, m, &err) == 0 && m->vp_kind == PDU_VP_ABSOLUTE);
            back = m->vp_time;
            CHECK(back.year == t.year && back.month == t.month && back.day == t.day);
            CHECK(back.hour == t.hour && back.minute == t.minute && back.second == t.second);
            CHECK(back.tz_minutes == t.tz_minutes);
            free(m);
        } else {
            CHECK(err.code == PDU_E_BAD_TIME);
        }
    }
}

static void
one(const uint8_t *pdu, size_t len, int options)
{
    uint8_t *copy = malloc(len ? len : 1);
    pdu_message *m = malloc(sizeof *m);
    pdu_error err;
    CHECK(copy != NULL && m != NULL);
    if (len)
        memcpy(copy, pdu, len);
    int flags = (options & 1) ? PDU_WITH_SMSC : 0;
    if (options & 0x80) {
        /* lenient reads all that strict does, and what strict refuses only
         * with a repair note (a lone surrogate is noted even where strict
         * keeps it) */
        int strict_ok = pdu_parse(copy, len, flags, m, &err) == 0;
        int lenient_ok = pdu_parse(copy, len, flags | PDU_LENIENT, m, &err) == 0;
        CHECK(!strict_ok || lenient_ok);
        CHECK(!lenient_ok || strict_ok || m->n_repairs > 0);
        flags |= PDU_LENIENT;
    }
    if (pdu_parse(copy, len, flags, m, &err) == 0) {
        check_message(m, copy, len);
        if (m->has_text && !has_surrogate(m->text, m->n_text)) {
            pdu_text t = {m->text, m->n_text, 4};
            round_trip(&t, PDU_AUTO, options);
            if (m->encoding == PDU_GSM7)
                round_trip(&t, PDU_UCS2, options);
        } else if (m->has_ud && m->encoding == PDU_8BIT) {
            pdu_text t = {copy + m->body_offset, m->body_len, 1};
            round_trip(&t, PDU_8BIT, options);
        }
    } else {
        CHECK(err.code == PDU_E_MALFORMED);
        CHECK(err.offset <= len);
        CHECK(err.field != NULL && err.msg[0] != '\0');
        CHECK(strlen(err.msg) < sizeof err.msg);
    }
    free(m);
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int options = data[0];
    data++;
    size--;
    one(data, size, options);
    if (options & 2) {
        /* the same octets as hex text: most are not hex; those that are
         * decode to a PDU half as long */
        uint8_t *raw = malloc(size / 2 + 1);
        char *hex = malloc(size ? size : 1);
        size_t bad = 0;
        CHECK(raw != NULL && hex != NULL);
        if (size)
            memcpy(hex, data, size);
        if (pdu_hex_decode(hex, size, raw, &bad) == 0)
            one(raw, size / 2, options);
        else
            CHECK(bad <= size);
        free(hex);
        free(raw);
    }
    check_packing(data, size);
    check_hex(data, size);
    encode_side(data, size, options);
    return 0;
}
