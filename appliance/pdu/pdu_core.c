/*
 * pdu_core.c: see pdu_core.h. Plain C99, no Python, no allocation.
 *
 * Rules this file keeps:
 *   - every read of PDU octets goes through the reader (rd_*), which checks
 *     the length first; every write goes into a buffer whose size the
 *     caller's contract (pdu_core.h) fixes and the code checks against;
 *   - the alphabet tables below are the single source of truth; the reverse
 *     lookups are derived from them in pdu_core_init().
 */
#include "pdu_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ============================================================ alphabets */

/* 23.038 6.2.1: the GSM 7 bit default alphabet. Index = septet value.
 * 0x1B is the escape to the single shift (extension) table; its entry is
 * what a lone trailing escape shows as: a space. */
static const uint16_t lock_default[128] = {
    /* 0x00 */ 0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
    /* 0x08 */ 0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    /* 0x10 */ 0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    /* 0x18 */ 0x03A3, 0x0398, 0x039E, 0x0020, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    /* 0x20 */ 0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
    /* 0x28 */ 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    /* 0x30 */ 0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    /* 0x38 */ 0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
    /* 0x40 */ 0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    /* 0x48 */ 0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
    /* 0x50 */ 0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    /* 0x58 */ 0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    /* 0x60 */ 0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    /* 0x68 */ 0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
    /* 0x70 */ 0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    /* 0x78 */ 0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* 23.038 A.3.1: Turkish national language locking shift table. */
static const uint16_t lock_turkish[128] = {
    /* 0x00 */ 0x0040, 0x00A3, 0x0024, 0x00A5, 0x20AC, 0x00E9, 0x00F9, 0x0131,
    /* 0x08 */ 0x00F2, 0x00C7, 0x000A, 0x011E, 0x011F, 0x000D, 0x00C5, 0x00E5,
    /* 0x10 */ 0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    /* 0x18 */ 0x03A3, 0x0398, 0x039E, 0x0020, 0x015E, 0x015F, 0x00DF, 0x00C9,
    /* 0x20 */ 0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
    /* 0x28 */ 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    /* 0x30 */ 0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    /* 0x38 */ 0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
    /* 0x40 */ 0x0130, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    /* 0x48 */ 0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
    /* 0x50 */ 0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    /* 0x58 */ 0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    /* 0x60 */ 0x00E7, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    /* 0x68 */ 0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
    /* 0x70 */ 0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    /* 0x78 */ 0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* 23.038 A.3.3: Portuguese national language locking shift table. */
static const uint16_t lock_portuguese[128] = {
    /* 0x00 */ 0x0040, 0x00A3, 0x0024, 0x00A5, 0x00EA, 0x00E9, 0x00FA, 0x00ED,
    /* 0x08 */ 0x00F3, 0x00E7, 0x000A, 0x00D4, 0x00F4, 0x000D, 0x00C1, 0x00E1,
    /* 0x10 */ 0x0394, 0x005F, 0x00AA, 0x00C7, 0x00C0, 0x221E, 0x005E, 0x005C,
    /* 0x18 */ 0x20AC, 0x00D3, 0x007C, 0x0020, 0x00C2, 0x00E2, 0x00CA, 0x00C9,
    /* 0x20 */ 0x0020, 0x0021, 0x0022, 0x0023, 0x00BA, 0x0025, 0x0026, 0x0027,
    /* 0x28 */ 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    /* 0x30 */ 0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    /* 0x38 */ 0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
    /* 0x40 */ 0x00CD, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    /* 0x48 */ 0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
    /* 0x50 */ 0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    /* 0x58 */ 0x0058, 0x0059, 0x005A, 0x00C3, 0x00D5, 0x00DA, 0x00DC, 0x00A7,
    /* 0x60 */ 0x007E, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    /* 0x68 */ 0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
    /* 0x70 */ 0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    /* 0x78 */ 0x0078, 0x0079, 0x007A, 0x00E3, 0x00F5, 0x0060, 0x00FC, 0x00E0,
};

/* Single shift tables, reached by 0x1B + code; 0 = no character there.
 * 23.038 6.2.1.1: the default extension table. */
static const uint16_t single_default[128] = {
    [0x0A] = 0x000C, /* form feed (page break) */
    [0x14] = 0x005E, [0x28] = 0x007B, [0x29] = 0x007D, [0x2F] = 0x005C,
    [0x3C] = 0x005B, [0x3D] = 0x007E, [0x3E] = 0x005D, [0x40] = 0x007C,
    [0x65] = 0x20AC,
};

/* 23.038 A.2.1: Turkish national language single shift table. */
static const uint16_t single_turkish[128] = {
    [0x0A] = 0x000C,
    [0x14] = 0x005E, [0x28] = 0x007B, [0x29] = 0x007D, [0x2F] = 0x005C,
    [0x3C] = 0x005B, [0x3D] = 0x007E, [0x3E] = 0x005D, [0x40] = 0x007C,
    [0x47] = 0x011E, /* G breve */
    [0x49] = 0x0130, /* I dot */
    [0x53] = 0x015E, /* S cedilla */
    [0x63] = 0x00E7, /* c cedilla */
    [0x65] = 0x20AC,
    [0x67] = 0x011F, /* g breve */
    [0x69] = 0x0131, /* dotless i */
    [0x73] = 0x015F, /* s cedilla */
};

/* 23.038 A.2.2: Spanish national language single shift table
 * (A.3.2: there is no Spanish locking shift table). */
static const uint16_t single_spanish[128] = {
    [0x09] = 0x00E7, [0x0A] = 0x000C,
    [0x14] = 0x005E, [0x28] = 0x007B, [0x29] = 0x007D, [0x2F] = 0x005C,
    [0x3C] = 0x005B, [0x3D] = 0x007E, [0x3E] = 0x005D, [0x40] = 0x007C,
    [0x41] = 0x00C1, [0x49] = 0x00CD, [0x4F] = 0x00D3, [0x55] = 0x00DA,
    [0x61] = 0x00E1, [0x65] = 0x20AC, [0x69] = 0x00ED, [0x6F] = 0x00F3,
    [0x75] = 0x00FA,
};

/* 23.038 A.2.3: Portuguese national language single shift table. */
static const uint16_t single_portuguese[128] = {
    [0x05] = 0x00EA, [0x09] = 0x00E7, [0x0A] = 0x000C, [0x0B] = 0x00D4,
    [0x0C] = 0x00F4, [0x0E] = 0x00C1, [0x0F] = 0x00E1,
    [0x12] = 0x03A6, [0x13] = 0x0393, [0x14] = 0x005E, [0x15] = 0x03A9,
    [0x16] = 0x03A0, [0x17] = 0x03A8, [0x18] = 0x03A3, [0x19] = 0x0398,
    [0x1F] = 0x00CA,
    [0x28] = 0x007B, [0x29] = 0x007D, [0x2F] = 0x005C,
    [0x3C] = 0x005B, [0x3D] = 0x007E, [0x3E] = 0x005D,
    [0x40] = 0x007C, [0x41] = 0x00C0, [0x49] = 0x00CD, [0x4F] = 0x00D3,
    [0x55] = 0x00DA, [0x5B] = 0x00C3, [0x5C] = 0x00D5,
    [0x61] = 0x00C2, [0x65] = 0x20AC, [0x69] = 0x00ED, [0x6F] = 0x00F3,
    [0x75] = 0x00FA, [0x7B] = 0x00E3, [0x7C] = 0x00F5, [0x7F] = 0x00E2,
};

/* Indexed by language id. Spanish has no locking shift table: a locking
 * shift IE naming it leaves the default alphabet in effect. */
static const uint16_t *const locking_tables[PDU_LANG_COUNT] = {
    lock_default, lock_turkish, lock_default, lock_portuguese,
};
static const uint16_t *const single_tables[PDU_LANG_COUNT] = {
    single_default, single_turkish, single_spanish, single_portuguese,
};

PDU_API int
pdu_has_locking(int lang)
{
    return lang == PDU_LANG_TURKISH || lang == PDU_LANG_PORTUGUESE;
}

PDU_API int
pdu_has_single(int lang)
{
    return lang > 0 && lang < PDU_LANG_COUNT;
}

/* Reverse lookups: code point -> septet code, -1 for none. Code points
 * below REV_DIRECT are looked up directly; the few above (euro sign,
 * infinity) are in a short list per table. */
#define REV_DIRECT 0x400
#define REV_HIGH 4
typedef struct {
    int16_t direct[REV_DIRECT];
    uint16_t high_ch[REV_HIGH];
    uint8_t high_code[REV_HIGH];
    int n_high;
} rev_table;

static void hex_init(void);

static rev_table rev_locking[PDU_LANG_COUNT];
static rev_table rev_single[PDU_LANG_COUNT];
static int rev_ready = 0;

static void
rev_fill(rev_table *r, const uint16_t *table, int skip_escape)
{
    for (int i = 0; i < REV_DIRECT; i++)
        r->direct[i] = -1;
    r->n_high = 0;
    for (int code = 0; code < 128; code++) {
        uint16_t ch = table[code];
        if (skip_escape && code == PDU_ESC)
            continue; /* the escape is not a character */
        if (!skip_escape && ch == 0)
            continue; /* no character at this extension code */
        if (ch < REV_DIRECT) {
            if (r->direct[ch] < 0) /* first code wins */
                r->direct[ch] = (int16_t)code;
            continue;
        }
        int seen = 0;
        for (int i = 0; i < r->n_high; i++)
            seen |= r->high_ch[i] == ch;
        if (!seen && r->n_high < REV_HIGH) {
            r->high_ch[r->n_high] = ch;
            r->high_code[r->n_high] = (uint8_t)code;
            r->n_high++;
        }
    }
}

PDU_API void
pdu_core_init(void)
{
    if (rev_ready)
        return;
    hex_init();
    for (int lang = 0; lang < PDU_LANG_COUNT; lang++) {
        rev_fill(&rev_locking[lang], locking_tables[lang], 1);
        rev_fill(&rev_single[lang], single_tables[lang], 0);
    }
    rev_ready = 1;
}

static int
rev_find(const rev_table *r, uint32_t ch)
{
    if (ch < REV_DIRECT)
        return r->direct[ch];
    for (int i = 0; i < r->n_high; i++)
        if (r->high_ch[i] == ch)
            return r->high_code[i];
    return -1;
}

PDU_API int
pdu_gsm7_lookup(uint32_t ch, int locking, int single)
{
    if (locking < 0 || locking >= PDU_LANG_COUNT || single < 0 || single >= PDU_LANG_COUNT)
        return -1;
    if (!rev_ready)
        pdu_core_init();
    int code = rev_find(&rev_locking[locking], ch);
    if (code >= 0)
        return code;
    code = rev_find(&rev_single[single], ch);
    if (code >= 0)
        return 0x100 | code;
    return -1;
}

/* pdu_gsm7_decode, also giving the largest code point written */
static size_t
gsm7_decode_max(const uint8_t *septets, size_t n, int locking, int single, uint32_t *out,
                uint32_t *max);

PDU_API size_t
pdu_gsm7_decode(const uint8_t *septets, size_t n, int locking, int single, uint32_t *out)
{
    uint32_t max;
    return gsm7_decode_max(septets, n, locking, single, out, &max);
}

static size_t
gsm7_decode_max(const uint8_t *septets, size_t n, int locking, int single, uint32_t *out,
                uint32_t *max)
{
    const uint16_t *lock = locking_tables[(locking >= 0 && locking < PDU_LANG_COUNT) ? locking : 0];
    const uint16_t *shift = single_tables[(single >= 0 && single < PDU_LANG_COUNT) ? single : 0];
    size_t j = 0;
    uint32_t mx = 0;
    if (memchr(septets, PDU_ESC, n) == NULL) { /* no escapes: one character per septet */
        for (size_t i = 0; i < n; i++) {
            uint32_t ch = lock[septets[i] & 0x7F];
            mx = ch > mx ? ch : mx;
            out[i] = ch;
        }
        *max = mx;
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t s = septets[i] & 0x7F;
        uint32_t ch;
        if (s != PDU_ESC) {
            ch = lock[s];
        } else if (i + 1 >= n) {
            ch = 0x20; /* lone escape at the end */
        } else {
            uint8_t e = septets[++i] & 0x7F;
            if (e == PDU_ESC)
                ch = 0x20; /* reserved for a further extension table */
            else if (shift[e] != 0)
                ch = shift[e];
            else
                ch = lock[e]; /* no character: show the main table's */
        }
        mx = ch > mx ? ch : mx;
        out[j++] = ch;
    }
    *max = mx;
    return j;
}

/* ============================================================== septets */

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PDU_LITTLE_ENDIAN 1
#else
#define PDU_LITTLE_ENDIAN 0
#endif

/* 8 octets as a little-endian number (one load where the machine is). */
static inline uint64_t
load_le64(const uint8_t *p)
{
    uint64_t v = 0;
#if PDU_LITTLE_ENDIAN
    memcpy(&v, p, 8);
#else
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
#endif
    return v;
}

PDU_API size_t
pdu_pack7(const uint8_t *septets, size_t n, unsigned fill, uint8_t *out)
{
    /* least significant bit first: septet i occupies bits fill + 7i .. +6 */
    uint32_t acc = 0;
    unsigned bits = fill;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint32_t)(septets[i] & 0x7F) << bits;
        bits += 7;
        if (bits >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits > 0)
        out[o++] = (uint8_t)acc;
    return o; /* == pdu_packed_len(n, fill) */
}

PDU_API int
pdu_unpack7(const uint8_t *in, size_t in_len, size_t count, unsigned fill, uint8_t *out)
{
    if (fill > 6 || count > (SIZE_MAX - 14) / 7 || pdu_packed_len(count, fill) > in_len)
        return -1;
    size_t o = 0, i = 0;
    /* 8 septets at a time: 56 bits starting at bit `fill` of in[7k], read
     * as one little-endian 64-bit value while 8 octets are there to read */
    while (o + 8 <= count && i + 8 <= in_len) {
        uint64_t v = load_le64(in + i) >> fill;
        uint8_t *d = out + o;
        d[0] = (uint8_t)(v & 0x7F);
        d[1] = (uint8_t)((v >> 7) & 0x7F);
        d[2] = (uint8_t)((v >> 14) & 0x7F);
        d[3] = (uint8_t)((v >> 21) & 0x7F);
        d[4] = (uint8_t)((v >> 28) & 0x7F);
        d[5] = (uint8_t)((v >> 35) & 0x7F);
        d[6] = (uint8_t)((v >> 42) & 0x7F);
        d[7] = (uint8_t)((v >> 49) & 0x7F);
        o += 8;
        i += 7;
    }
    /* the rest one by one through a bit accumulator */
    uint32_t acc = 0;
    unsigned bits = 0;
    if (o < count && fill) { /* skip the fill bits at the bottom of this octet */
        acc = (uint32_t)in[i++] >> fill;
        bits = 8 - fill;
    }
    while (o < count) {
        if (bits < 7) {
            /* i < in_len: count septets need pdu_packed_len octets */
            acc |= (uint32_t)in[i++] << bits;
            bits += 8;
        }
        out[o++] = (uint8_t)(acc & 0x7F);
        acc >>= 7;
        bits -= 7;
    }
    return 0;
}

/* ================================================================== hex */

/* hex digit values, -1 for anything else; filled by pdu_core_init() */
static int8_t hex_value[256];
/* the same with 0x100 for anything else, for the branch-free loop */
static uint16_t hex_flagged[256];

static void
hex_init(void)
{
    for (int i = 0; i < 256; i++)
        hex_value[i] = -1;
    for (int i = 0; i < 10; i++)
        hex_value['0' + i] = (int8_t)i;
    for (int i = 0; i < 6; i++) {
        hex_value['A' + i] = (int8_t)(10 + i);
        hex_value['a' + i] = (int8_t)(10 + i);
    }
    for (int i = 0; i < 256; i++)
        hex_flagged[i] = hex_value[i] < 0 ? 0x100 : (uint16_t)hex_value[i];
}

/* Sixteen digits at a time with the CPU's vector unit (SSE2 on x86-64, NEON on the
 * Raspberry Pi's ARM cores): hex is most of a PDU and, byte by byte, most of
 * decode()'s own time. Stops before the first block holding anything but hex
 * digits and returns how many digits it decoded; the byte loop does the rest and
 * finds the error. fuzz/fuzz_decode.c checks it against a plain decoder. */
#if defined(__SSE2__) && !defined(PDU_NO_SIMD)
#include <emmintrin.h>
#define HEX_WIDE 1
/* Sixteen digits at s into eight octets at out; 0 if any is not a digit. */
static inline int
hex_block(const unsigned char *s, uint8_t *out)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    __m128i y = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* A-F to a-f */
    /* signed compares: bytes from 0x80 up are negative and fail both ranges */
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(y, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(y, _mm_set1_epi8('f' + 1)));
    if (_mm_movemask_epi8(_mm_or_si128(digit, alpha)) != 0xFFFF)
        return 0;
    __m128i nib = _mm_add_epi8(_mm_and_si128(v, _mm_set1_epi8(0x0F)),
                               _mm_and_si128(alpha, _mm_set1_epi8(9)));
    /* 16-bit lanes hold a digit pair, the first in the low byte */
    __m128i pair = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0x00FF)), 4),
                                _mm_srli_epi16(nib, 8));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(pair, pair));
    return 1;
}
#elif defined(__ARM_NEON) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ \
    && !defined(PDU_NO_SIMD)
#include <arm_neon.h>
#define HEX_WIDE 1
static inline int
hex_block(const unsigned char *s, uint8_t *out)
{
    uint8x16_t v = vld1q_u8(s);
    uint8x16_t y = vorrq_u8(v, vdupq_n_u8(0x20));
    uint8x16_t digit = vandq_u8(vcgeq_u8(v, vdupq_n_u8('0')), vcleq_u8(v, vdupq_n_u8('9')));
    uint8x16_t alpha = vandq_u8(vcgeq_u8(y, vdupq_n_u8('a')), vcleq_u8(y, vdupq_n_u8('f')));
    uint8x16_t ok = vorrq_u8(digit, alpha);
    uint8x8_t all = vpmin_u8(vget_low_u8(ok), vget_high_u8(ok));
    all = vpmin_u8(all, all);
    all = vpmin_u8(all, all);
    all = vpmin_u8(all, all);
    if (vget_lane_u8(all, 0) != 0xFF)
        return 0;
    uint8x16_t nib = vaddq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), vandq_u8(alpha, vdupq_n_u8(9)));
    uint16x8_t w = vreinterpretq_u16_u8(nib);
    uint16x8_t pair = vorrq_u16(vshlq_n_u16(vandq_u16(w, vdupq_n_u16(0x00FF)), 4), vshrq_n_u16(w, 8));
    vst1_u8(out, vmovn_u16(pair));
    return 1;
}
#endif

#ifdef HEX_WIDE
static size_t
hex_decode_wide(const unsigned char *s, size_t n, uint8_t *out)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        if (!hex_block(s + i, out + i / 2))
            return i;
    /* the rest as one block that overlaps the last: at an even start, it
     * decodes again the same pairs to the same octets */
    if (i < n && n >= 16 && n % 2 == 0 && hex_block(s + n - 16, out + (n - 16) / 2))
        return n;
    return i;
}
#else
static size_t
hex_decode_wide(const unsigned char *s, size_t n, uint8_t *out)
{
    (void)s, (void)n, (void)out;
    return 0;
}
#endif

PDU_API int
pdu_hex_decode(const char *hex, size_t n, uint8_t *out, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)hex;
    if (!rev_ready)
        pdu_core_init();
    unsigned flags = 0;
    size_t i = hex_decode_wide(s, n, out);
    for (; i + 1 < n; i += 2) {
        unsigned hi = hex_flagged[s[i]], lo = hex_flagged[s[i + 1]];
        flags |= hi | lo;
        out[i / 2] = (uint8_t)((hi << 4) | lo);
    }
    if (n % 2)
        flags |= 0x200;
    if (flags < 0x100)
        return 0;
    /* something is wrong: the first non-hex character, else the odd length */
    for (i = 0; i < n; i++) {
        if (hex_value[s[i]] < 0) {
            *bad = i;
            return -1;
        }
    }
    *bad = n;
    return -1;
}

PDU_API void
pdu_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char pairs[513] =
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
        "202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"
        "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"
        "606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F"
        "808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F"
        "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
        "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
        "E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF";
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, pairs + 2 * in[i], 2);
}

/* ================================================================ parse */

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    pdu_error *err;
    int lenient;        /* PDU_LENIENT: repair what can be repaired, and note it */
    pdu_message *m;     /* where the notes go */
} rd;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
fail(pdu_error *err, size_t offset, const char *field, const char *fmt, ...)
{
    va_list ap;
    err->code = PDU_E_MALFORMED;
    err->offset = offset;
    err->field = field;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Note one repair a lenient parse made; past PDU_MAX_REPAIRS the last note
 * says that more were left out. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
repair(rd *r, const char *fmt, ...)
{
    pdu_message *m = r->m;
    if (m->n_repairs > PDU_MAX_REPAIRS)
        return;
    if (m->n_repairs == PDU_MAX_REPAIRS) {
        snprintf(m->repairs[PDU_MAX_REPAIRS - 1], PDU_REPAIR_LEN, "more repairs not listed");
        m->n_repairs++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->repairs[m->n_repairs++], PDU_REPAIR_LEN, fmt, ap);
    va_end(ap);
}

static size_t
rd_left(const rd *r)
{
    return r->len - r->pos;
}

static int
rd_octet(rd *r, const char *field, uint8_t *v)
{
    if (r->pos >= r->len)
        return fail(r->err, r->pos, field, "truncated: %s missing", field);
    *v = r->p[r->pos++];
    return 0;
}

static int
rd_take(rd *r, size_t n, const char *field, const uint8_t **v)
{
    if (n > rd_left(r))
        return fail(r->err, r->pos, field, "truncated: %s needs %zu octets, only %zu left",
                    field, n, rd_left(r));
    *v = r->p + r->pos;
    r->pos += n;
    return 0;
}

static const char nibble_digit[16] = "0123456789*#abc?";

static int
parse_digits(rd *r, const uint8_t *body, size_t ndigits, size_t offset, const char *field,
             pdu_address *a)
{
    uint32_t *out = a->text + a->len; /* a local cursor: a->len is a char, which aliases */
    for (size_t i = 0; i < ndigits; i++) {
        unsigned octet = body[i / 2];
        unsigned nib = (i % 2) ? (octet >> 4) : (octet & 0x0F);
        if (nib == 0xF && r->lenient) {
            /* as python-gsmmodem reads it: the filler ends the number */
            repair(r, "%s: filler nibble F at digit %zu of %zu ends the number", field, i + 1,
                   ndigits);
            ndigits = i;
            break;
        }
        if (nib == 0xF)
            return fail(r->err, offset + i / 2, field,
                        "%s: filler nibble F inside the digits (digit %zu of %zu)",
                        field, i + 1, ndigits);
        out[i] = (uint32_t)(unsigned char)nibble_digit[nib];
    }
    a->len = (uint8_t)(a->len + ndigits);
    return 0;
}

static int
parse_smsc(rd *r, pdu_message *m)
{
    size_t start = r->pos;
    uint8_t n = 0;
    const uint8_t *body = NULL;
    if (rd_octet(r, "SMSC length", &n) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (n > PDU_MAX_SMSC_OCTETS)
        return fail(r->err, start, "SMSC length", "SMSC length %u octets exceeds %d",
                    (unsigned)n, PDU_MAX_SMSC_OCTETS);
    if (rd_take(r, n, "SMSC address", &body) < 0)
        return -1;
    size_t octets = (size_t)n - 1;
    if (octets == 0)
        return 0; /* a type of address and no digits: no SMSC */
    size_t ndigits = 2 * octets;
    if ((body[n - 1] >> 4) == 0xF) /* odd digit count: the last high nibble is filler */
        ndigits--;
    pdu_address *a = &m->smsc;
    a->toa = body[0];
    a->alnum = 0;
    a->len = 0;
    if (((body[0] >> 4) & 7) == 1)
        a->text[a->len++] = '+';
    if (parse_digits(r, body + 1, ndigits, start + 2, "SMSC address", a) < 0)
        return -1;
    m->has_smsc = 1;
    return 0;
}

/* TP-OA / TP-DA / TP-RA (23.040 9.1.2.5): length in useful semi-octets,
 * type of address, value. */
static int
parse_address(rd *r, const char *field, const char *len_field, const char *type_field,
              pdu_address *a)
{
    size_t start = r->pos;
    uint8_t ndigits = 0, toa = 0;
    const uint8_t *body = NULL;
    if (rd_octet(r, len_field, &ndigits) < 0 || rd_octet(r, type_field, &toa) < 0)
        return -1;
    if (ndigits > PDU_MAX_ADDR_DIGITS)
        return fail(r->err, start, field, "%s length %u semi-octets exceeds %d", field,
                    (unsigned)ndigits, PDU_MAX_ADDR_DIGITS);
    size_t octets = ((size_t)ndigits + 1) / 2;
    if (rd_take(r, octets, field, &body) < 0)
        return -1;
    a->toa = toa;
    a->len = 0;
    a->alnum = 0;
    unsigned ton = (toa >> 4) & 7;
    if (ton == 5) {
        /* alphanumeric: GSM 7-bit default alphabet, packed; the length
         * counts the semi-octets that carry septets */
        uint8_t septets[PDU_MAX_ALNUM_SEPTETS + 1];
        size_t n = (size_t)ndigits * 4 / 7;
        if (pdu_unpack7(body, octets, n, 0, septets) < 0) /* cannot fail: n*7 <= 4*ndigits */
            return fail(r->err, start + 2, field, "%s: alphanumeric address cut short", field);
        uint32_t text[PDU_MAX_ALNUM_SEPTETS + 1];
        size_t nch = pdu_gsm7_decode(septets, n, 0, 0, text);
        for (size_t i = 0; i < nch; i++)
            a->text[i] = text[i];
        a->len = (uint8_t)nch;
        a->alnum = 1;
        return 0;
    }
    if (ton == 1 && ndigits > 0)
        a->text[a->len++] = '+';
    return parse_digits(r, body, ndigits, start + 2, field, a);
}

static int
bcd_swapped(uint8_t octet)
{
    unsigned lo = octet & 0x0F, hi = octet >> 4;
    if (lo > 9 || hi > 9)
        return -1;
    return (int)(lo * 10 + hi);
}

/* The same with a nibble that is not a digit read as 0, as Android reads it. */
static int
bcd_swapped_lenient(uint8_t octet)
{
    unsigned lo = octet & 0x0F, hi = octet >> 4;
    return (int)((lo > 9 ? 0 : lo) * 10 + (hi > 9 ? 0 : hi));
}

static int
days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* "" if t is a valid date and time, else what is wrong with it */
static const char *
time_problem(const pdu_time *t)
{
    if (t->month < 1 || t->month > 12)
        return "month";
    if (t->day < 1 || t->day > days_in_month(t->year, t->month))
        return "day";
    if (t->hour > 23)
        return "hour";
    if (t->minute > 59)
        return "minute";
    if (t->second > 59)
        return "second";
    return "";
}

/* TP-SCTS format (23.040 9.2.3.11): swapped BCD Y M D h m s, then the time
 * zone in quarter hours with the sign in bit 3. Two-digit years 90..99 are
 * the 1990s, 00..89 the 2000s (there was no GSM before 1990).
 * Lenient: a zone that is not BCD reads as UTC and the time is kept; a digit
 * that is not BCD reads as 0; a time that is still invalid is zeroed, its
 * lost bit set in m->times_lost, and `instead` says in the note what stands
 * in for it. */
static int
parse_time(rd *r, const char *field, int lost_bit, const char *instead, pdu_time *t)
{
    size_t start = r->pos;
    const uint8_t *raw = NULL;
    int v[6], not_bcd = 0;
    if (rd_take(r, 7, field, &raw) < 0)
        return -1;
    for (int i = 0; i < 6; i++) {
        v[i] = bcd_swapped(raw[i]);
        if (v[i] >= 0)
            continue;
        if (!r->lenient)
            return fail(r->err, start + (size_t)i, field, "%s: octet 0x%02X is not BCD", field,
                        (unsigned)raw[i]);
        v[i] = bcd_swapped_lenient(raw[i]);
        not_bcd = 1;
    }
    int quarters = bcd_swapped(raw[6] & 0xF7);
    if (quarters < 0 && !r->lenient)
        return fail(r->err, start + 6, field, "%s: time zone 0x%02X is not BCD", field,
                    (unsigned)raw[6]);
    if (quarters < 0) {
        repair(r, "%s: time zone 0x%02X is not BCD, read as UTC", field, (unsigned)raw[6]);
        quarters = 0;
    }
    t->year = (uint16_t)((v[0] >= 90 ? 1900 : 2000) + v[0]);
    t->month = (uint8_t)v[1];
    t->day = (uint8_t)v[2];
    t->hour = (uint8_t)v[3];
    t->minute = (uint8_t)v[4];
    t->second = (uint8_t)v[5];
    t->tz_minutes = (int16_t)((raw[6] & 0x08) ? -15 * quarters : 15 * quarters);
    const char *bad = time_problem(t);
    if (*bad && r->lenient) {
        repair(r, "%s: %02X%02X%02X%02X%02X%02X%02X is not a valid time (%s), %s", field,
               (unsigned)raw[0], (unsigned)raw[1], (unsigned)raw[2], (unsigned)raw[3],
               (unsigned)raw[4], (unsigned)raw[5], (unsigned)raw[6], bad, instead);
        memset(t, 0, sizeof *t);
        r->m->times_lost |= lost_bit;
        return 0;
    }
    if (*bad)
        return fail(r->err, start, field,
                    "%s: invalid date/time %04u-%02u-%02u %02u:%02u:%02u (%s out of range)", field,
                    (unsigned)t->year, (unsigned)t->month, (unsigned)t->day, (unsigned)t->hour,
                    (unsigned)t->minute, (unsigned)t->second, bad);
    if (not_bcd)
        repair(r, "%s: %02X%02X%02X%02X%02X%02X: a digit that is not BCD read as 0", field,
               (unsigned)raw[0], (unsigned)raw[1], (unsigned)raw[2], (unsigned)raw[3],
               (unsigned)raw[4], (unsigned)raw[5]);
    return 0;
}

PDU_API long
pdu_relative_vp_seconds(uint8_t vp)
{
    if (vp <= 143)
        return (long)(vp + 1) * 5 * 60;
    if (vp <= 167)
        return 12L * 3600 + (long)(vp - 143) * 30 * 60;
    if (vp <= 196)
        return (long)(vp - 166) * 86400;
    return (long)(vp - 192) * 7 * 86400;
}

/* TP-VP in the format TP-VPF announces (23.040 9.2.3.12). */
static int
parse_validity(rd *r, unsigned vpf, pdu_message *m)
{
    m->vp_kind = PDU_VP_NONE;
    if (vpf == 0)
        return 0;
    if (vpf == 2) {
        uint8_t vp = 0;
        if (rd_octet(r, "TP-VP", &vp) < 0)
            return -1;
        m->vp_kind = PDU_VP_RELATIVE;
        m->vp_seconds = pdu_relative_vp_seconds(vp);
        return 0;
    }
    if (vpf == 3) {
        if (parse_time(r, "TP-VP", PDU_LOST_VP, "no validity instead", &m->vp_time) < 0)
            return -1;
        m->vp_kind = (m->times_lost & PDU_LOST_VP) ? PDU_VP_NONE : PDU_VP_ABSOLUTE;
        return 0;
    }
    /* enhanced format (9.2.3.12.3): 7 octets, the functionality indicator
     * first (with extension octets while bit 7 is set; none are defined),
     * then the period in the form its bits 2..0 say, zero-padded */
    size_t start = r->pos;
    const uint8_t *raw = NULL;
    if (rd_take(r, 7, "TP-VP", &raw) < 0)
        return -1;
    size_t i = 0;
    while (raw[i] & 0x80) {
        if (++i >= 7)
            return fail(r->err, start, "TP-VP",
                        "TP-VP: enhanced format functionality indicator runs past the field");
    }
    unsigned kind = raw[0] & 0x07;
    size_t v = i + 1; /* the first octet after the functionality indicator */
    switch (kind) {
    case 0:
        return 0;
    case 1:
    case 2:
        if (v >= 7)
            return fail(r->err, start, "TP-VP", "TP-VP: enhanced format period missing");
        m->vp_kind = PDU_VP_RELATIVE;
        m->vp_seconds = kind == 1 ? pdu_relative_vp_seconds(raw[v]) : (long)raw[v];
        return 0;
    case 3: {
        if (v + 3 > 7)
            return fail(r->err, start, "TP-VP", "TP-VP: enhanced format period missing");
        int h = bcd_swapped(raw[v]), mi = bcd_swapped(raw[v + 1]), s = bcd_swapped(raw[v + 2]);
        if (h < 0 || mi < 0 || s < 0)
            return fail(r->err, start + v, "TP-VP", "TP-VP: enhanced hh:mm:ss is not BCD");
        m->vp_kind = PDU_VP_RELATIVE;
        m->vp_seconds = (long)h * 3600 + (long)mi * 60 + s;
        return 0;
    }
    default:
        return fail(r->err, start, "TP-VP", "TP-VP: reserved enhanced format %u", kind);
    }
}

/* TP-DCS (23.038 4): the alphabet, the message class, message waiting.
 * Reserved alphabets and coding groups read as GSM 7-bit, as the standard
 * tells a receiver to; compressed text is handed over as 8-bit data. */
static void
parse_dcs(uint8_t dcs, pdu_message *m)
{
    unsigned group = dcs >> 4;
    m->message_class = -1;
    m->mwi = 0;
    m->mwi_active = 0;
    m->mwi_kind = 0;
    if (group <= 0x7) { /* general data coding; 01xx: marked for automatic deletion */
        if (dcs & 0x10)
            m->message_class = dcs & 0x03;
        if (dcs & 0x20) {
            m->encoding = PDU_8BIT; /* compressed */
            return;
        }
        static const int alphabet[4] = {PDU_GSM7, PDU_8BIT, PDU_UCS2, PDU_GSM7};
        m->encoding = alphabet[(dcs >> 2) & 0x03];
        return;
    }
    if (group >= 0xC && group <= 0xE) { /* message waiting indication */
        m->encoding = group == 0xE ? PDU_UCS2 : PDU_GSM7;
        m->mwi = (int)group;
        m->mwi_active = (dcs >> 3) & 1;
        m->mwi_kind = dcs & 0x03;
        return;
    }
    if (group == 0xF) { /* data coding / message class */
        m->encoding = (dcs & 0x04) ? PDU_8BIT : PDU_GSM7;
        m->message_class = dcs & 0x03;
        return;
    }
    m->encoding = PDU_GSM7; /* 0x8..0xB: reserved coding groups */
}

static size_t
header_septets(size_t udh_len)
{
    return (udh_len * 8 + 6) / 7;
}

static int
language_supported(unsigned id, int locking)
{
    return id < PDU_LANG_COUNT && (locking ? (id == 0 || pdu_has_locking((int)id) ||
                                              id == PDU_LANG_SPANISH)
                                           : 1);
}

/* TP-UDL + TP-UD: the header, then the text in the DCS alphabet. The PDU
 * must end with it. */
/* UTF-16BE units into m->text, pairs joined; a surrogate without its
 * partner is kept as it is (a sender may cut a pair between parts; `data`
 * lets the caller rejoin them), or with `replace` becomes U+FFFD, as
 * python-gammu shows it. Returns how many were alone; *first is the unit
 * index of the first. */
static size_t
utf16_points(const uint8_t *b, size_t n, pdu_message *m, int replace, size_t *first)
{
    size_t j = 0, lone = 0;
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = ((uint32_t)b[2 * i] << 8) | b[2 * i + 1];
        if ((u & 0xFC00) == 0xD800 && i + 1 < n && (b[2 * i + 2] & 0xFC) == 0xDC) {
            uint32_t low = ((uint32_t)b[2 * i + 2] << 8) | b[2 * i + 3];
            u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
            i++;
        } else if ((u & 0xF800) == 0xD800) {
            if (lone++ == 0)
                *first = i;
            if (replace)
                u = 0xFFFD;
        }
        mx = u > mx ? u : mx;
        m->text[j++] = u;
    }
    m->n_text = j;
    m->text_max = mx;
    m->text_utf16 = 0;
    return lone;
}

PDU_API const uint32_t *
pdu_message_text(pdu_message *m, const uint8_t *pdu)
{
    size_t first;
    if (m->text_utf16) /* no surrogates in it: nothing to replace */
        utf16_points(pdu + m->body_offset, m->body_len / 2, m, 0, &first);
    return m->text;
}

static int
parse_user_data(rd *r, int udhi, pdu_message *m)
{
    size_t udl_offset = r->pos;
    uint8_t udl = 0;
    const uint8_t *ud = NULL;
    size_t n_octets;
    if (rd_octet(r, "TP-UDL", &udl) < 0)
        return -1;
    const int gsm7 = m->encoding == PDU_GSM7;
    const unsigned max = gsm7 ? PDU_MAX_UD_SEPTETS : PDU_MAX_UD_OCTETS;
    const char *unit = gsm7 ? "septets" : "octets";
    if (udl > max && !r->lenient)
        return fail(r->err, udl_offset, "TP-UDL", "TP-UDL %u exceeds %u %s", (unsigned)udl, max,
                    unit);
    if (udl > max) {
        repair(r, "TP-UDL %u exceeds %u %s, read as %u", (unsigned)udl, max, unit, max);
        udl = (uint8_t)max;
    }
    n_octets = gsm7 ? ((size_t)udl * 7 + 7) / 8 : udl;
    size_t ud_offset = r->pos;
    size_t present = n_octets; /* the octets of user data there are */
    if (n_octets > rd_left(r) && r->lenient)
        present = rd_left(r); /* the note, in units, once the header is known */
    if (rd_take(r, present, "TP-UD", &ud) < 0)
        return -1;
    if (rd_left(r) && !r->lenient)
        return fail(r->err, r->pos, "TP-UD", "%zu unexpected octet(s) after the user data",
                    rd_left(r));
    if (rd_left(r)) {
        repair(r, "%zu octet(s) after the user data ignored", rd_left(r));
        r->pos = r->len;
    }
    m->has_ud = 1;

    size_t header_len = 0;
    int locking_ie = -1, single_ie = -1, concat_ie = -1;
    if (udhi && present == 0 && r->lenient) {
        repair(r, "TP-UDHI set but the user data is empty");
        udhi = 0;
    }
    if (udhi) {
        if (present == 0)
            return fail(r->err, ud_offset, "UDH", "TP-UDHI set but the user data is empty");
        header_len = (size_t)ud[0] + 1;
        if (header_len > present)
            return fail(r->err, ud_offset, "UDH", "UDH length %u overruns the %zu-octet user data",
                        (unsigned)ud[0], present);
        size_t pos = 1;
        while (pos < header_len) {
            if (pos + 2 > header_len && r->lenient) {
                repair(r, "UDH: the last information element's header cut off, ignored");
                break;
            }
            if (pos + 2 > header_len)
                return fail(r->err, ud_offset + pos, "UDH",
                            "UDH: information element header cut off");
            uint8_t iei = ud[pos], len = ud[pos + 1];
            if (pos + 2 + len > header_len && r->lenient) {
                repair(r, "UDH: IE 0x%02X length %u overruns the header, ignored with the rest",
                       (unsigned)iei, (unsigned)len);
                break;
            }
            if (pos + 2 + len > header_len)
                return fail(r->err, ud_offset + pos + 1, "UDH",
                            "UDH: IE 0x%02X length %u overruns the header", (unsigned)iei,
                            (unsigned)len);
            if (m->n_ies >= PDU_MAX_IES) /* cannot happen: 139 octets hold 69 IEs */
                return fail(r->err, ud_offset + pos, "UDH", "UDH: too many information elements");
            pdu_ie *ie = &m->ies[m->n_ies++];
            ie->iei = iei;
            ie->len = len;
            ie->offset = (uint16_t)(ud_offset + pos + 2);
            /* 23.040 9.2.3.24: of a non-repeatable IE the last one counts */
            if (iei == PDU_IEI_CONCAT8 || iei == PDU_IEI_CONCAT16) {
                unsigned want = iei == PDU_IEI_CONCAT8 ? 3 : 4;
                if (len != want && r->lenient)
                    repair(r, "UDH: concatenation IE length %u, must be %u; not read as one",
                           (unsigned)len, want);
                else if (len != want)
                    return fail(r->err, ud_offset + pos, "UDH",
                                "UDH: concatenation IE length %u, must be %u", (unsigned)len,
                                want);
                else
                    concat_ie = (int)(m->n_ies - 1);
            } else if (iei == PDU_IEI_SINGLE_SHIFT) {
                single_ie = (int)(m->n_ies - 1);
            } else if (iei == PDU_IEI_LOCKING_SHIFT) {
                locking_ie = (int)(m->n_ies - 1);
            }
            pos += 2 + (size_t)len;
        }
    }

    if (concat_ie >= 0) {
        const pdu_ie *ie = &m->ies[concat_ie];
        const uint8_t *d = r->p + ie->offset;
        unsigned ref, total, seq;
        if (ie->iei == PDU_IEI_CONCAT8) {
            ref = d[0];
            total = d[1];
            seq = d[2];
        } else {
            ref = ((unsigned)d[0] << 8) | d[1];
            total = d[2];
            seq = d[3];
        }
        /* 9.2.3.24.1: a zero or out-of-range sequence number means the IE
         * is ignored */
        if (total != 0 && seq != 0 && seq <= total) {
            m->has_concat = 1;
            m->concat_ref = ref;
            m->concat_total = total;
            m->concat_seq = seq;
        }
    }

    size_t body_offset = ud_offset + header_len;
    if (m->encoding == PDU_GSM7) {
        /* national language shift tables apply to 7-bit text only */
        const int ies[2] = {locking_ie, single_ie};
        for (int k = 0; k < 2; k++) {
            if (ies[k] < 0)
                continue;
            const pdu_ie *ie = &m->ies[ies[k]];
            if (ie->len != 1 && r->lenient) {
                repair(r, "UDH: national language IE 0x%02X length %u, must be 1; ignored",
                       (unsigned)ie->iei, (unsigned)ie->len);
                continue;
            }
            if (ie->len != 1)
                return fail(r->err, ie->offset - 2, "UDH",
                            "UDH: national language IE 0x%02X length %u, must be 1",
                            (unsigned)ie->iei, (unsigned)ie->len);
            unsigned id = r->p[ie->offset];
            if (!language_supported(id, k == 0) && r->lenient) {
                repair(r, "UDH: national language %u (%s shift table) is not supported; the "
                       "default table used, the text may be wrong", id,
                       k == 0 ? "locking" : "single");
                continue;
            }
            if (!language_supported(id, k == 0))
                return fail(r->err, ie->offset, "UDH",
                            "UDH: national language %u (%s shift table) is not supported", id,
                            k == 0 ? "locking" : "single");
            if (k == 0)
                m->locking = (int)id;
            else
                m->single = (int)id;
        }
        size_t hs = header_septets(header_len);
        if (hs > udl && !r->lenient)
            return fail(r->err, udl_offset, "TP-UDL",
                        "TP-UDL %u septets is shorter than the %zu-octet UDH", (unsigned)udl,
                        header_len);
        if (hs > udl) {
            repair(r, "TP-UDL %u septets is shorter than the %zu-octet UDH; no text",
                   (unsigned)udl, header_len);
            udl = (uint8_t)hs;
        }
        size_t n = udl - hs;
        unsigned fill = (unsigned)(hs * 7 - header_len * 8);
        if (present < n_octets) { /* lenient: the whole septets there are */
            size_t bits = (present - header_len) * 8;
            size_t fit = bits > fill ? (bits - fill) / 7 : 0;
            repair(r, "user data length %u septets but only %zu present", (unsigned)udl,
                   hs + fit);
            n = fit;
        }
        if (pdu_unpack7(ud + header_len, present - header_len, n, fill, m->septets) < 0)
            return fail(r->err, body_offset, "TP-UD", "TP-UD: %zu septets do not fit", n);
        m->n_septets = n;
        m->body_offset = body_offset;
        m->body_len = present - header_len;
        m->n_text = gsm7_decode_max(m->septets, n, m->locking, m->single, m->text, &m->text_max);
        m->has_text = 1;
        return 0;
    }

    m->body_offset = body_offset;
    m->body_len = present - header_len;
    if (present < n_octets)
        repair(r, "user data length %u octets but only %zu present", (unsigned)udl, present);
    if (m->encoding == PDU_UCS2) {
        const uint8_t *b = ud + header_len;
        size_t nb = m->body_len;
        if (nb % 2 && !r->lenient)
            return fail(r->err, body_offset, "TP-UD",
                        "UCS2 user data has an odd number of octets (%zu)", nb);
        if (nb % 2) {
            repair(r, "UCS2 user data has an odd number of octets (%zu), the last one ignored",
                   nb);
            m->body_len = --nb;
        }
        /* UTF-16BE. Nearly every text is without surrogates: then the str
         * is made straight from the body, and one pass that the compiler
         * turns into vector code finds the width it needs. */
        size_t n = nb / 2;
        uint16_t any = 0, surrogates = 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t u = pdu_load_be16(b + 2 * i);
            any |= u;
            surrogates |= (u & 0xF800) == 0xD800;
        }
        m->n_text = n;
        if (!surrogates) {
            m->text_utf16 = 1;
            m->text_max = any;
        } else {
            size_t first = 0, lone = utf16_points(b, n, m, r->lenient, &first);
            if (lone && r->lenient)
                repair(r, "UCS2 text: %zu lone surrogate(s) replaced by U+FFFD, the first at "
                       "unit %zu", lone, first);
        }
        m->has_text = 1;
    }
    return 0;
}

static int
parse_deliver(rd *r, pdu_message *m)
{
    if (parse_address(r, "TP-OA", "TP-OA length", "TP-OA type", &m->number) < 0
        || rd_octet(r, "TP-PID", &m->pid) < 0 || rd_octet(r, "TP-DCS", &m->dcs) < 0
        || parse_time(r, "TP-SCTS", PDU_LOST_SCTS, "the time of decoding instead", &m->scts) < 0)
        return -1;
    m->has_pid = m->has_dcs = 1;
    parse_dcs(m->dcs, m);
    return parse_user_data(r, m->first & 0x40, m);
}

static int
parse_submit(rd *r, pdu_message *m)
{
    if (rd_octet(r, "TP-MR", &m->reference) < 0
        || parse_address(r, "TP-DA", "TP-DA length", "TP-DA type", &m->number) < 0
        || rd_octet(r, "TP-PID", &m->pid) < 0 || rd_octet(r, "TP-DCS", &m->dcs) < 0
        || parse_validity(r, (m->first >> 3) & 0x03, m) < 0)
        return -1;
    m->has_pid = m->has_dcs = 1;
    parse_dcs(m->dcs, m);
    return parse_user_data(r, m->first & 0x40, m);
}

/* Lenient: the status report ends before the field TP-PI announced; the
 * fields before it stand. */
static int
cut_short(rd *r, uint8_t pi, const char *field)
{
    repair(r, "TP-PI 0x%02X announces %s but the PDU ends before it", (unsigned)pi, field);
    return 0;
}

static int
parse_status_report(rd *r, pdu_message *m)
{
    if (rd_octet(r, "TP-MR", &m->reference) < 0
        || parse_address(r, "TP-RA", "TP-RA length", "TP-RA type", &m->number) < 0
        || parse_time(r, "TP-SCTS", PDU_LOST_SCTS, "the time of decoding instead", &m->scts) < 0
        || parse_time(r, "TP-DT", PDU_LOST_DISCHARGE, "the time of decoding instead",
                      &m->discharge) < 0
        || rd_octet(r, "TP-ST", &m->status) < 0)
        return -1;
    parse_dcs(0, m);
    if (!rd_left(r))
        return 0;
    /* TP-PI and what it announces are optional (23.040 9.2.3.27) */
    uint8_t pi = 0, ext = 0;
    if (rd_octet(r, "TP-PI", &pi) < 0)
        return -1;
    ext = pi;
    while (ext & 0x80) { /* further TP-PI octets: nothing is defined in them */
        if (!rd_left(r) && r->lenient)
            return cut_short(r, pi, "a TP-PI extension octet");
        if (rd_octet(r, "TP-PI extension", &ext) < 0)
            return -1;
    }
    if ((pi & 0x78) && r->lenient) {
        /* as Android reads it: reserved bits set, the octet is not to be trusted */
        repair(r, "TP-PI 0x%02X has reserved bits set; it and the %zu octet(s) after it ignored",
               (unsigned)pi, rd_left(r));
        r->pos = r->len;
        return 0;
    }
    if ((pi & 0x01) && !rd_left(r) && r->lenient)
        return cut_short(r, pi, "TP-PID");
    if (pi & 0x01) {
        if (rd_octet(r, "TP-PID", &m->pid) < 0)
            return -1;
        m->has_pid = 1;
    }
    if ((pi & 0x02) && !rd_left(r) && r->lenient)
        return cut_short(r, pi, "TP-DCS");
    if (pi & 0x02) {
        if (rd_octet(r, "TP-DCS", &m->dcs) < 0)
            return -1;
        m->has_dcs = 1;
        parse_dcs(m->dcs, m);
    }
    if ((pi & 0x04) && !rd_left(r) && r->lenient)
        return cut_short(r, pi, "TP-UDL");
    if (pi & 0x04)
        return parse_user_data(r, m->first & 0x40, m);
    if (rd_left(r) && r->lenient) {
        repair(r, "%zu octet(s) after the status report ignored", rd_left(r));
        r->pos = r->len;
        return 0;
    }
    if (rd_left(r))
        return fail(r->err, r->pos, "TP-PI", "%zu unexpected octet(s) at the end", rd_left(r));
    return 0;
}

PDU_API int
pdu_parse(const uint8_t *pdu, size_t len, int flags, pdu_message *m, pdu_error *err)
{
    rd r = {pdu, len, 0, err, (flags & PDU_LENIENT) != 0, m};
    if (!rev_ready)
        pdu_core_init();
    memset(m, 0, offsetof(pdu_message, ies)); /* the arrays are filled as far as counted */
    m->message_class = -1;
    err->code = PDU_E_NONE;
    err->msg[0] = '\0';
    if ((flags & PDU_WITH_SMSC) && parse_smsc(&r, m) < 0)
        return -1;
    if (rd_octet(&r, "first octet", &m->first) < 0)
        return -1;
    m->mti = m->first & 0x03;
    /* 23.040 9.2.3.1: the reserved value 3 is read as SMS-DELIVER */
    switch (m->mti) {
    case PDU_SUBMIT:
        return parse_submit(&r, m);
    case PDU_STATUS_REPORT:
        return parse_status_report(&r, m);
    default:
        m->mti = PDU_DELIVER;
        return parse_deliver(&r, m);
    }
}

/* ================================================================ build */

PDU_API size_t
pdu_udh_len(int parts, int concat16, int locking, int single)
{
    size_t n = 0;
    if (parts > 1)
        n += concat16 ? 6 : 5;
    if (locking)
        n += 3;
    if (single)
        n += 3;
    return n ? n + 1 : 0;
}

PDU_API size_t
pdu_capacity(int encoding, size_t udh_len)
{
    if (encoding == PDU_GSM7)
        return PDU_MAX_UD_SEPTETS - header_septets(udh_len);
    if (encoding == PDU_UCS2)
        return (PDU_MAX_UD_OCTETS - udh_len) / 2;
    return PDU_MAX_UD_OCTETS - udh_len;
}

/* Run the body (the variadic argument) for every character ch, at index i,
 * of text t, with the loop compiled once per code unit width. The body may
 * return; it must not break. */
#define FOR_EACH_CHAR(t, i, ch, ...)                                                       \
    do {                                                                                   \
        size_t n_ = (t)->len;                                                              \
        if ((t)->width == 1) {                                                             \
            const uint8_t *s_ = (const uint8_t *)(t)->data;                                \
            for (size_t i = 0; i < n_; i++) {                                              \
                uint32_t ch = s_[i];                                                       \
                __VA_ARGS__                                                                     \
            }                                                                              \
        } else if ((t)->width == 2) {                                                      \
            const uint16_t *s_ = (const uint16_t *)(t)->data;                              \
            for (size_t i = 0; i < n_; i++) {                                              \
                uint32_t ch = s_[i];                                                       \
                __VA_ARGS__                                                                     \
            }                                                                              \
        } else {                                                                           \
            const uint32_t *s_ = (const uint32_t *)(t)->data;                              \
            for (size_t i = 0; i < n_; i++) {                                              \
                uint32_t ch = s_[i];                                                       \
                __VA_ARGS__                                                                     \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* The septet code of ch with these reverse tables (see pdu_gsm7_lookup). */
static inline int
gsm7_code(const rev_table *lk, const rev_table *sh, uint32_t ch)
{
    if (ch < REV_DIRECT) {
        int code = lk->direct[ch];
        if (code >= 0)
            return code;
        code = sh->direct[ch];
        return code >= 0 ? 0x100 | code : -1;
    }
    int code = rev_find(lk, ch);
    if (code >= 0)
        return code;
    code = rev_find(sh, ch);
    return code >= 0 ? 0x100 | code : -1;
}

/* Units a character costs: 1 or 2; 0 if the alphabet has no place for it. */
static inline unsigned
char_cost(int encoding, uint32_t ch, const rev_table *lk, const rev_table *sh)
{
    if (encoding == PDU_GSM7) {
        int code = gsm7_code(lk, sh, ch);
        return code < 0 ? 0 : (code & 0x100) ? 2 : 1;
    }
    if (encoding == PDU_UCS2) {
        if (ch >= 0xD800 && ch <= 0xDFFF)
            return 0;
        return ch > 0xFFFF ? 2 : 1;
    }
    return 1;
}

/* Total units of the text, or -1 with *bad at the first character that has
 * no place in the alphabet. */
static int
measure(const pdu_text *t, int encoding, int locking, int single, size_t *total, size_t *bad)
{
    const rev_table *lk = &rev_locking[locking], *sh = &rev_single[single];
    size_t sum = 0;
    if (encoding == PDU_8BIT || (encoding == PDU_UCS2 && t->width == 1)) {
        *total = t->len; /* one unit per octet / per Latin-1 character */
        return 0;
    }
    if (encoding == PDU_UCS2 && t->width == 2) {
        /* one unit per character; only a (lone) surrogate has no place */
        const uint16_t *s = (const uint16_t *)t->data;
        for (size_t i = 0; i < t->len; i++) {
            if ((s[i] & 0xF800) == 0xD800) {
                *bad = i;
                return -1;
            }
        }
        *total = t->len;
        return 0;
    }
    if (encoding == PDU_GSM7 && t->width <= 2) {
        /* every code point below 0x10000: the direct tables, the short lists above */
        FOR_EACH_CHAR(t, i, ch, {
            int code = ch < REV_DIRECT ? lk->direct[ch] : rev_find(lk, ch);
            if (code >= 0) {
                sum += 1;
            } else {
                code = ch < REV_DIRECT ? sh->direct[ch] : rev_find(sh, ch);
                if (code < 0) {
                    *bad = i;
                    return -1;
                }
                sum += 2;
            }
        });
        *total = sum;
        return 0;
    }
    FOR_EACH_CHAR(t, i, ch, {
        unsigned c = char_cost(encoding, ch, lk, sh);
        if (c == 0) {
            *bad = i;
            return -1;
        }
        sum += c;
    });
    *total = sum;
    return 0;
}

/* Cut the text into parts: greedily, each part as full as it can be
 * without splitting a character (an escape sequence, a surrogate pair).
 * Counts every part even past PDU_MAX_PARTS; records the cuts up to it. */
static void
split(const pdu_text *t, int encoding, int locking, int single, int concat16, size_t total,
      pdu_plan *p)
{
    const rev_table *lk = &rev_locking[locking], *sh = &rev_single[single];
    p->encoding = encoding;
    p->locking = locking;
    p->single = single;
    p->concat16 = concat16;
    p->total_units = total;
    size_t one = pdu_capacity(encoding, pdu_udh_len(1, concat16, locking, single));
    p->cut[0] = 0;
    if (total <= one) {
        p->parts = 1;
        p->per_part = one;
        p->last_units = total;
        p->cut[1] = t->len;
        return;
    }
    size_t per = pdu_capacity(encoding, pdu_udh_len(2, concat16, locking, single));
    p->per_part = per;
    if (total == t->len) {
        /* every character one unit: the cuts fall every per characters */
        size_t parts = (t->len + per - 1) / per;
        for (size_t k = 1; k <= parts && k <= PDU_MAX_PARTS; k++)
            p->cut[k] = k == parts ? t->len : k * per;
        p->parts = (long)parts;
        p->last_units = t->len - (parts - 1) * per;
        return;
    }
    long parts = 1;
    size_t used = 0;
    FOR_EACH_CHAR(t, i, ch, {
        unsigned c = char_cost(encoding, ch, lk, sh);
        if (used + c > per) {
            if (parts <= PDU_MAX_PARTS)
                p->cut[parts] = i;
            parts++;
            used = 0;
        }
        used += c;
    });
    if (parts <= PDU_MAX_PARTS)
        p->cut[parts] = t->len;
    p->parts = parts;
    p->last_units = used;
}

PDU_API int
pdu_plan_text(const pdu_text *text, int requested, const int *langs, size_t nlangs,
              int concat16, pdu_plan *plan, pdu_error *err)
{
    size_t total, bad;
    if (!rev_ready)
        pdu_core_init();
    err->code = PDU_E_NONE;
    err->msg[0] = '\0';

    if (requested == PDU_8BIT) {
        split(text, PDU_8BIT, 0, 0, concat16, text->len, plan);
        return 0;
    }

    if (requested == PDU_AUTO || requested == PDU_GSM7) {
        /* 1. the default alphabet, whenever the text fits it */
        size_t bad_default;
        if (measure(text, PDU_GSM7, 0, 0, &total, &bad_default) == 0) {
            split(text, PDU_GSM7, 0, 0, concat16, total, plan);
            return 0;
        }
        /* 2. the national tables that give the fewest parts; on a tie the
         * fewer shift IEs, then the order of langs (single shift, locking
         * shift, both) */
        int found = 0, best_ies = 0;
        pdu_plan cand;
        for (size_t k = 0; k < nlangs; k++) {
            int lang = langs[k];
            if (lang <= 0 || lang >= PDU_LANG_COUNT)
                continue;
            const int tables[3][2] = {{0, lang}, {lang, 0}, {lang, lang}};
            for (int c = 0; c < 3; c++) {
                int lk = tables[c][0], sh = tables[c][1];
                if ((lk && !pdu_has_locking(lk)) || (sh && !pdu_has_single(sh)))
                    continue;
                if (measure(text, PDU_GSM7, lk, sh, &total, &bad) < 0)
                    continue;
                split(text, PDU_GSM7, lk, sh, concat16, total, &cand);
                int ies = (lk != 0) + (sh != 0);
                if (!found || cand.parts < plan->parts
                    || (cand.parts == plan->parts && ies < best_ies)) {
                    *plan = cand;
                    best_ies = ies;
                    found = 1;
                }
            }
        }
        if (found)
            return 0;
        if (requested == PDU_GSM7) {
            /* name the first character that no allowed table has, if there
             * is one; else (the tables each cover part of the text but no
             * combination all of it) the first one outside the default */
            for (size_t i = 0; i < text->len; i++) {
                uint32_t ch = pdu_text_at(text, i);
                int anywhere = pdu_gsm7_lookup(ch, 0, 0) >= 0;
                for (size_t k = 0; k < nlangs && !anywhere; k++) {
                    int lang = langs[k];
                    if (lang <= 0 || lang >= PDU_LANG_COUNT)
                        continue;
                    anywhere = pdu_gsm7_lookup(ch, pdu_has_locking(lang) ? lang : 0, lang) >= 0;
                }
                if (!anywhere) {
                    bad_default = i;
                    break;
                }
            }
            err->code = PDU_E_UNENCODABLE;
            err->index = bad_default;
            err->ch = pdu_text_at(text, bad_default);
            snprintf(err->msg, sizeof err->msg,
                     "character U+%04X at index %zu has no GSM 7-bit mapping", (unsigned)err->ch,
                     bad_default);
            return -1;
        }
    }

    /* 3. UCS2 */
    if (measure(text, PDU_UCS2, 0, 0, &total, &bad) < 0) {
        err->code = PDU_E_SURROGATE;
        err->index = bad;
        err->ch = pdu_text_at(text, bad);
        snprintf(err->msg, sizeof err->msg, "lone surrogate U+%04X at index %zu cannot be sent",
                 (unsigned)err->ch, bad);
        return -1;
    }
    split(text, PDU_UCS2, 0, 0, concat16, total, plan);
    return 0;
}

PDU_API size_t
pdu_part_units(const pdu_text *text, const pdu_plan *plan, int index, uint8_t *out)
{
    const rev_table *lk = &rev_locking[plan->locking], *sh = &rev_single[plan->single];
    size_t from = plan->cut[index], n = 0;
    pdu_text part = *text; /* the characters of this part */
    part.data = (const uint8_t *)text->data + from * (size_t)text->width;
    part.len = plan->cut[index + 1] - from;
    if (plan->encoding == PDU_GSM7) {
        FOR_EACH_CHAR(&part, i, ch, {
            int code = gsm7_code(lk, sh, ch);
            if (code & 0x100)
                out[n++] = PDU_ESC;
            out[n++] = (uint8_t)(code & 0x7F);
        });
    } else if (plan->encoding == PDU_UCS2) {
        FOR_EACH_CHAR(&part, i, ch, {
            if (ch > 0xFFFF) {
                uint32_t v = ch - 0x10000;
                uint32_t hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
                out[n++] = (uint8_t)(hi >> 8);
                out[n++] = (uint8_t)hi;
                out[n++] = (uint8_t)(lo >> 8);
                out[n++] = (uint8_t)lo;
            } else {
                out[n++] = (uint8_t)(ch >> 8);
                out[n++] = (uint8_t)ch;
            }
        });
    } else {
        FOR_EACH_CHAR(&part, i, ch, { out[n++] = (uint8_t)ch; });
    }
    return n;
}

PDU_API size_t
pdu_build_tpdu(const pdu_header *h, int index, int total, int encoding, int locking, int single,
               int concat16, const uint8_t *units, size_t n_units, uint8_t *out)
{
    uint8_t udh[1 + 6 + 3 + 3];
    size_t udh_len = 0;
    if (total > 1 || locking || single) {
        size_t k = 1;
        if (total > 1) {
            if (concat16) {
                udh[k++] = PDU_IEI_CONCAT16;
                udh[k++] = 4;
                udh[k++] = (uint8_t)(h->concat_ref >> 8);
                udh[k++] = (uint8_t)h->concat_ref;
            } else {
                udh[k++] = PDU_IEI_CONCAT8;
                udh[k++] = 3;
                udh[k++] = (uint8_t)h->concat_ref;
            }
            udh[k++] = (uint8_t)total;
            udh[k++] = (uint8_t)(index + 1);
        }
        if (locking) {
            udh[k++] = PDU_IEI_LOCKING_SHIFT;
            udh[k++] = 1;
            udh[k++] = (uint8_t)locking;
        }
        if (single) {
            udh[k++] = PDU_IEI_SINGLE_SHIFT;
            udh[k++] = 1;
            udh[k++] = (uint8_t)single;
        }
        udh[0] = (uint8_t)(k - 1);
        udh_len = k;
    }

    size_t udl, ud_octets;
    unsigned fill = 0;
    if (encoding == PDU_GSM7) {
        size_t hs = header_septets(udh_len);
        fill = (unsigned)(hs * 7 - udh_len * 8);
        udl = hs + n_units;
        if (udl > PDU_MAX_UD_SEPTETS)
            return 0;
        ud_octets = udh_len + pdu_packed_len(n_units, fill);
    } else {
        udl = udh_len + n_units;
        if (udl > PDU_MAX_UD_OCTETS)
            return 0;
        ud_octets = udl;
    }
    if (h->address_len > sizeof h->address || h->vp_len > sizeof h->vp)
        return 0;
    size_t fixed = 2 + h->address_len + 2 + (h->mti == PDU_SUBMIT ? 1 + h->vp_len : 7) + 1;
    if (fixed + ud_octets > PDU_MAX_TPDU)
        return 0;

    size_t pos = 0;
    out[pos++] = (uint8_t)(h->first | (udh_len ? 0x40 : 0));
    if (h->mti == PDU_SUBMIT)
        out[pos++] = (uint8_t)((h->reference + index) & 0xFF);
    memcpy(out + pos, h->address, h->address_len);
    pos += h->address_len;
    out[pos++] = h->pid;
    out[pos++] = h->dcs;
    if (h->mti == PDU_SUBMIT) {
        memcpy(out + pos, h->vp, h->vp_len);
        pos += h->vp_len;
    } else {
        memcpy(out + pos, h->scts, 7);
        pos += 7;
    }
    out[pos++] = (uint8_t)udl;
    memcpy(out + pos, udh, udh_len);
    pos += udh_len;
    if (encoding == PDU_GSM7) {
        pos += pdu_pack7(units, n_units, fill, out + pos);
    } else {
        memcpy(out + pos, units, n_units);
        pos += n_units;
    }
    return pos;
}

/* ---------------------------------------------------------- addresses */

static int
digit_nibble(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c == '*')
        return 0xA;
    if (c == '#')
        return 0xB;
    return -1;
}

static size_t
semi_octets(const pdu_text *t, size_t from, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = from; i < t->len; i += 2) {
        unsigned lo = (unsigned)digit_nibble(pdu_text_at(t, i));
        unsigned hi = i + 1 < t->len ? (unsigned)digit_nibble(pdu_text_at(t, i + 1)) : 0xF;
        out[n++] = (uint8_t)(lo | (hi << 4));
    }
    return n;
}

/* 0 if the text is '+'? digits (1..20 of them); else an error code. */
static int
check_number(const pdu_text *t, pdu_error *err)
{
    size_t from = (t->len > 0 && pdu_text_at(t, 0) == '+') ? 1 : 0;
    err->code = PDU_E_NONE;
    if (t->len == from) {
        err->code = PDU_E_NO_DIGITS;
        snprintf(err->msg, sizeof err->msg, "no digits");
        return -1;
    }
    for (size_t i = from; i < t->len; i++) {
        if (digit_nibble(pdu_text_at(t, i)) < 0) {
            err->code = PDU_E_BAD_DIGIT;
            err->index = i;
            err->ch = pdu_text_at(t, i);
            snprintf(err->msg, sizeof err->msg, "invalid character U+%04X at index %zu",
                     (unsigned)err->ch, i);
            return -1;
        }
    }
    if (t->len - from > PDU_MAX_ADDR_DIGITS) {
        err->code = PDU_E_TOO_LONG;
        err->value = (long)(t->len - from);
        snprintf(err->msg, sizeof err->msg, "%zu digits, at most %d fit in an address",
                 t->len - from, PDU_MAX_ADDR_DIGITS);
        return -1;
    }
    return 0;
}

PDU_API int
pdu_encode_address(const pdu_text *number, int allow_alnum, uint8_t *out, size_t *out_len,
                   pdu_error *err)
{
    if (check_number(number, err) == 0) {
        size_t from = pdu_text_at(number, 0) == '+' ? 1 : 0;
        out[0] = (uint8_t)(number->len - from);
        /* 0x91: international, ISDN/E.164 plan. 0x81: unknown type, ISDN
         * plan: the network applies its national/international rules */
        out[1] = from ? 0x91 : 0x81;
        *out_len = 2 + semi_octets(number, from, out + 2);
        return 0;
    }
    if (!allow_alnum || err->code != PDU_E_BAD_DIGIT)
        return -1; /* only a text with a letter in it is an alphanumeric address */
    /* alphanumeric (TON 101, 23.040 9.1.2.5): default alphabet, packed */
    uint8_t septets[PDU_MAX_ALNUM_SEPTETS + 2];
    size_t n = 0;
    for (size_t i = 0; i < number->len; i++) {
        int code = pdu_gsm7_lookup(pdu_text_at(number, i), 0, 0);
        if (code < 0) {
            err->code = PDU_E_UNENCODABLE;
            err->index = i;
            err->ch = pdu_text_at(number, i);
            snprintf(err->msg, sizeof err->msg,
                     "character U+%04X at index %zu has no GSM 7-bit mapping", (unsigned)err->ch,
                     i);
            return -1;
        }
        size_t need = (code & 0x100) ? 2 : 1;
        if (n + need > PDU_MAX_ALNUM_SEPTETS) {
            err->code = PDU_E_TOO_LONG;
            err->value = (long)PDU_MAX_ALNUM_SEPTETS;
            snprintf(err->msg, sizeof err->msg,
                     "an alphanumeric address holds at most %d septets",
                     PDU_MAX_ALNUM_SEPTETS);
            return -1;
        }
        if (code & 0x100)
            septets[n++] = PDU_ESC;
        septets[n++] = (uint8_t)(code & 0x7F);
    }
    out[0] = (uint8_t)((7 * n + 3) / 4); /* useful semi-octets */
    out[1] = 0xD0;                        /* alphanumeric, unknown plan */
    *out_len = 2 + pdu_pack7(septets, n, 0, out + 2);
    err->code = PDU_E_NONE;
    return 0;
}

PDU_API int
pdu_encode_smsc(const pdu_text *number, uint8_t *out, size_t *out_len, pdu_error *err)
{
    if (number == NULL) {
        out[0] = 0; /* use the SMSC configured in the modem */
        *out_len = 1;
        return 0;
    }
    if (check_number(number, err) < 0)
        return -1;
    size_t from = pdu_text_at(number, 0) == '+' ? 1 : 0;
    size_t n = semi_octets(number, from, out + 2);
    out[0] = (uint8_t)(1 + n);
    out[1] = from ? 0x91 : 0x81;
    *out_len = 2 + n;
    return 0;
}

PDU_API int
pdu_encode_time(const pdu_time *t, uint8_t out[7], pdu_error *err)
{
    const char *bad = time_problem(t);
    int quarters = t->tz_minutes / 15;
    if (t->year < 1990 || t->year > 2089)
        bad = "year (1990..2089 fit in two digits)";
    else if (t->tz_minutes % 15 != 0 || quarters > 79 || quarters < -79)
        bad = "time zone";
    if (*bad) {
        err->code = PDU_E_BAD_TIME;
        snprintf(err->msg, sizeof err->msg, "%s out of range", bad);
        return -1;
    }
    const unsigned v[6] = {(unsigned)(t->year % 100), t->month, t->day, t->hour, t->minute,
                           t->second};
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)(((v[i] % 10) << 4) | (v[i] / 10));
    unsigned q = (unsigned)(quarters < 0 ? -quarters : quarters);
    out[6] = (uint8_t)(((q % 10) << 4) | (q / 10) | (quarters < 0 ? 0x08 : 0));
    return 0;
}

PDU_API uint8_t
pdu_relative_vp(long long seconds, int fraction)
{
    /* "period <= limit" with a fraction of a second on top of `seconds` */
#define AT_MOST(limit) (seconds < (limit) || (seconds == (limit) && !fraction))
#define CEIL_DIV(x, d) ((x) / (d) + (((x) % (d)) != 0 || fraction ? 1 : 0))
    if (seconds < 0)
        return 0;
    if (AT_MOST(12LL * 3600)) { /* 0..143: (VP + 1) x 5 minutes */
        long long vp = CEIL_DIV(seconds, 300LL) - 1;
        return (uint8_t)(vp < 0 ? 0 : vp);
    }
    if (AT_MOST(24LL * 3600)) /* 144..167: 12 hours + (VP - 143) x 30 minutes */
        return (uint8_t)(143 + CEIL_DIV(seconds - 12LL * 3600, 1800LL));
    if (AT_MOST(30LL * 86400)) /* 168..196: (VP - 166) days */
        return (uint8_t)(166 + CEIL_DIV(seconds, 86400LL));
    if (AT_MOST(63LL * 7 * 86400)) /* 197..255: (VP - 192) weeks */
        return (uint8_t)(192 + CEIL_DIV(seconds, 7LL * 86400));
    return 255;
#undef AT_MOST
#undef CEIL_DIV
}
