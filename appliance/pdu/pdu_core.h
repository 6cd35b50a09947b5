/*
 * pdu_core: the bit work of the SMS PDU codec, in plain C99 with no Python.
 *
 * 3GPP TS 23.040 (TPDU layouts) and TS 23.038 (alphabets, data coding).
 * This file is what the Python glue (_pdu.c) and the libFuzzer harness
 * (fuzz/fuzz_decode.c) both call:
 *
 *   - the GSM 7-bit default alphabet, its extension table and the national
 *     language locking / single shift tables (Turkish, Spanish, Portuguese);
 *   - septet packing and unpacking with fill bits;
 *   - pdu_parse(): one PDU (SMS-DELIVER, SMS-SUBMIT, SMS-STATUS-REPORT,
 *     optionally after the SMSC part) into a pdu_message, every length
 *     checked before the octets are read;
 *   - pdu_plan_text() and pdu_build_tpdu(): a text cut into parts and the
 *     parts written as SMS-SUBMIT or SMS-DELIVER TPDUs.
 *
 * No function here allocates memory, keeps state between calls (apart from
 * the lookup tables - reverse alphabets, hex digits - that pdu_core_init
 * builds once) or reads outside the buffers it is given. Errors come back as -1 with a pdu_error that
 * names the octet offset, the field and the reason.
 *
 * The encoding policy (pdu_plan_text: which alphabet, which national
 * tables, where parts are cut) is the one written down in Python in
 * tests/pdu_policy.py; it is here too only because a Python round trip
 * per message would cost more than the whole encoder. tests/test_pdu_policy.py
 * holds the two equal.
 */
#ifndef PDU_CORE_H
#define PDU_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The glue compiles the core into itself (#include "pdu_core.c") and
 * defines PDU_API as static, so that the calls are direct and inlinable
 * and the extension exports nothing but its init function. */
#ifndef PDU_API
#define PDU_API
#endif

/* ------------------------------------------------------------ limits */

#define PDU_MAX_UD_OCTETS 140   /* TP-UD, 23.040 9.2.3.24 */
#define PDU_MAX_UD_SEPTETS 160
#define PDU_MAX_ADDR_DIGITS 20  /* TP-OA/DA/RA: at most 10 octets of digits */
#define PDU_MAX_SMSC_OCTETS 11  /* after its length octet: TOA + 10 octets */
#define PDU_MAX_ALNUM_SEPTETS 11 /* 10 octets = 80 bits hold 11 septets */
#define PDU_MAX_PARTS 255       /* the concatenation IE counts to 255 */
#define PDU_MAX_TPDU 200        /* longest TPDU pdu_build_tpdu writes (164) */
#define PDU_MAX_SMSC_PART 12    /* length octet + 11 */
#define PDU_MAX_IES 70          /* a 139-octet UDH holds at most 69 IEs */
#define PDU_MAX_REPAIRS 8       /* repair notes kept by a lenient parse */
#define PDU_REPAIR_LEN 112      /* each, NUL included */
#define PDU_ESC 0x1B

/* TP-MTI as seen by the mobile station (23.040 9.2.3.1) */
enum { PDU_DELIVER = 0, PDU_SUBMIT = 1, PDU_STATUS_REPORT = 2 };

/* alphabets (23.038 4) */
enum { PDU_GSM7 = 0, PDU_8BIT = 1, PDU_UCS2 = 2 };
#define PDU_AUTO (-1)

/* national language identifiers (23.038 6.2.1.2.4); 0 = the default tables */
enum {
    PDU_LANG_DEFAULT = 0,
    PDU_LANG_TURKISH = 1,
    PDU_LANG_SPANISH = 2,
    PDU_LANG_PORTUGUESE = 3,
    PDU_LANG_COUNT = 4
};

/* UDH information element identifiers (23.040 9.2.3.24) */
#define PDU_IEI_CONCAT8 0x00
#define PDU_IEI_CONCAT16 0x08
#define PDU_IEI_SINGLE_SHIFT 0x24
#define PDU_IEI_LOCKING_SHIFT 0x25

/* validity period forms */
enum { PDU_VP_NONE = 0, PDU_VP_RELATIVE = 1, PDU_VP_ABSOLUTE = 2 };

/* -------------------------------------------------------------- errors */

/* What went wrong in an encode argument, for the glue to phrase. */
enum {
    PDU_E_NONE = 0,
    PDU_E_MALFORMED,     /* parse: msg/offset/field say it all */
    PDU_E_UNENCODABLE,   /* plan: char at index has no mapping in the alphabet */
    PDU_E_SURROGATE,     /* plan: lone surrogate at index cannot be UCS2 */
    PDU_E_NO_DIGITS,     /* address: nothing after an optional '+' */
    PDU_E_BAD_DIGIT,     /* address: char at index is not 0-9 * # */
    PDU_E_TOO_LONG,      /* address: `value` digits / septets are too many */
    PDU_E_BAD_TIME       /* time: a field out of range */
};

typedef struct {
    int code;
    size_t offset;      /* parse: octet offset in the PDU (SMSC part included) */
    const char *field;  /* static string naming the field */
    size_t index;       /* encode: character index in the text */
    uint32_t ch;        /* encode: the character */
    long value;         /* encode: a count (parts, digits) */
    char msg[192];
} pdu_error;

/* ------------------------------------------------------------- text */

/* A read-only view of code points: width 1, 2 or 4 bytes each (the three
 * kinds of a Python str, or an octet string for 8-bit data). */
typedef struct {
    const void *data;
    size_t len;
    int width;
} pdu_text;

static inline uint32_t
pdu_text_at(const pdu_text *t, size_t i)
{
    switch (t->width) {
    case 1: return ((const uint8_t *)t->data)[i];
    case 2: return ((const uint16_t *)t->data)[i];
    default: return ((const uint32_t *)t->data)[i];
    }
}

/* A UTF-16BE unit; a whole-word load and swap, which loops vectorise. */
static inline uint16_t
pdu_load_be16(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t v;
    memcpy(&v, p, 2);
    return (uint16_t)(v << 8 | v >> 8);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
#else
    return (uint16_t)(p[0] << 8 | p[1]);
#endif
}

/* ---------------------------------------------------------- alphabet */

/* Build the reverse lookup tables once; idempotent, not thread-safe: call
 * it at module import / fuzzer start before anything else. */
PDU_API void pdu_core_init(void);

/* 1 if the language has a locking shift table here (Spanish has none). */
PDU_API int pdu_has_locking(int lang);
/* 1 if the language's single shift table is here. */
PDU_API int pdu_has_single(int lang);

/* Septet code for ch with the given locking / single shift tables:
 * 0..0x7F = one septet, 0x100 | code = escape + code, -1 = none. */
PDU_API int pdu_gsm7_lookup(uint32_t ch, int locking, int single);

/* Septets (one per byte, each < 0x80) to code points; out has room for n.
 * Returns the number of code points written. 23.038 6.2.1.1: an
 * extension code with no character shows as the locking-table character
 * of the same code, ESC ESC and a lone trailing ESC as a space. */
PDU_API size_t pdu_gsm7_decode(const uint8_t *septets, size_t n, int locking, int single,
                       uint32_t *out);

/* ---------------------------------------------------------- septets */

/* Octets needed for n septets after fill bits. */
static inline size_t
pdu_packed_len(size_t n, unsigned fill)
{
    return (fill + 7 * n + 7) / 8;
}

/* Pack n septets (values < 0x80) after `fill` zero bits (0..6) into out,
 * which has room for pdu_packed_len(n, fill) octets. Returns that length. */
PDU_API size_t pdu_pack7(const uint8_t *septets, size_t n, unsigned fill, uint8_t *out);

/* Unpack `count` septets that follow `fill` bits (0..6) in in[0..in_len).
 * Returns -1 (writing nothing) if in_len is too short. */
PDU_API int pdu_unpack7(const uint8_t *in, size_t in_len, size_t count, unsigned fill,
                uint8_t *out);

/* ------------------------------------------------------------ hex */

/* Hex digits (either case) to octets; out has room for n / 2.
 * On error returns -1 and sets *bad to the offending character index
 * (n itself for an odd length). */
PDU_API int pdu_hex_decode(const char *hex, size_t n, uint8_t *out, size_t *bad);
/* Octets to upper-case hex; out has room for 2 * n. */
PDU_API void pdu_hex_encode(const uint8_t *in, size_t n, char *out);

/* ------------------------------------------------------------ parse */

typedef struct {
    uint16_t year;
    uint8_t month, day, hour, minute, second;
    int16_t tz_minutes;     /* east of UTC, a multiple of 15, |x| < 24 h */
} pdu_time;

typedef struct {
    uint8_t toa;            /* type of address octet */
    uint8_t alnum;          /* TON 101: alphanumeric text, no digits */
    uint8_t len;            /* code points in text */
    uint32_t text[PDU_MAX_ADDR_DIGITS + 1]; /* '+' and digits, or the name */
} pdu_address;

typedef struct {
    uint8_t iei;
    uint8_t len;
    uint16_t offset;        /* of the IE data in the PDU */
} pdu_ie;

typedef struct {
    int mti;
    uint8_t first;          /* the first TPDU octet */

    int has_smsc;
    pdu_address smsc;
    pdu_address number;     /* TP-OA, TP-DA or TP-RA */

    uint8_t reference;      /* TP-MR (SUBMIT, STATUS-REPORT) */
    int has_pid, has_dcs;   /* a STATUS-REPORT may leave them out */
    uint8_t pid, dcs;
    pdu_time scts;          /* DELIVER, STATUS-REPORT */
    pdu_time discharge;     /* STATUS-REPORT: TP-DT */
    uint8_t status;         /* STATUS-REPORT: TP-ST */

    int vp_kind;            /* SUBMIT: PDU_VP_* */
    long vp_seconds;        /* relative and enhanced forms */
    pdu_time vp_time;       /* absolute form */

    /* TP-DCS as read (23.038 4) */
    int encoding;           /* PDU_GSM7 / PDU_8BIT / PDU_UCS2 */
    int message_class;      /* 0..3, or -1 */
    int mwi;                /* 0, or the coding group 0xC / 0xD / 0xE */
    int mwi_active;
    int mwi_kind;           /* 0 voicemail, 1 fax, 2 e-mail, 3 other */

    /* TP-UD */
    int has_ud;
    int has_concat;         /* a valid concatenation IE (the last one) */
    unsigned concat_ref, concat_total, concat_seq;
    int locking, single;    /* national language tables in effect (gsm7) */
    size_t body_offset;     /* the octets after the UDH: their offset */
    size_t body_len;        /* and length */
    int has_text;           /* gsm7 and ucs2 */
    size_t n_ies;
    size_t n_septets;       /* gsm7: septet values after the UDH */
    size_t n_text;
    /* The largest code point of the text (0 if none); while text_utf16,
     * the OR of its units instead, which needs a str of the same width. */
    uint32_t text_max;
    /* ucs2 without surrogates: the text is the body itself, n_text
     * UTF-16BE units at body_offset, and text[] is not filled (see
     * pdu_message_text) */
    int text_utf16;

    /* lenient parse: which times could not be read and stand for the time of
     * decoding (PDU_LOST_*; the pdu_time is then zero), and how many repair
     * notes follow */
    int times_lost;
    size_t n_repairs;

    /* the arrays last: pdu_parse clears the fields above only */
    pdu_ie ies[PDU_MAX_IES];
    uint8_t septets[PDU_MAX_UD_SEPTETS];
    uint32_t text[PDU_MAX_UD_SEPTETS];
    /* lenient parse: what was repaired, one note each (n_repairs of them,
     * the later ones dropped past PDU_MAX_REPAIRS) */
    char repairs[PDU_MAX_REPAIRS][PDU_REPAIR_LEN];
} pdu_message;

/* pdu_parse flags */
#define PDU_WITH_SMSC 1 /* the PDU starts with the SMSC part */
/* Read what received PDUs get wrong in the field the way the mature stacks do
 * (octets after the user data, a TP-UDL longer than the octets, a time that
 * is not BCD, a lone surrogate, a status report cut short, ...) and say in
 * m->repairs what was repaired; without it such a PDU is an error. */
#define PDU_LENIENT 2

/* times_lost bits: the time was unreadable (lenient parse only) */
#define PDU_LOST_SCTS 1
#define PDU_LOST_DISCHARGE 2
#define PDU_LOST_VP 4

/* Parse one PDU; flags are PDU_WITH_SMSC and PDU_LENIENT (1 alone: the
 * strict parse of a PDU with its SMSC part). Returns 0, or -1 with err
 * filled (code PDU_E_MALFORMED). Never reads pdu[len] or beyond. Strict:
 * the PDU must end where its user data ends. */
PDU_API int pdu_parse(const uint8_t *pdu, size_t len, int flags, pdu_message *m,
              pdu_error *err);

/* The code points of a parsed message's text: m->text, filled now from the
 * body if it was left there (text_utf16), with text_max then exact. */
PDU_API const uint32_t *pdu_message_text(pdu_message *m, const uint8_t *pdu);

/* ------------------------------------------------------------ build */

/* How a text is sent: the alphabet, the shift tables and the cuts. */
typedef struct {
    int encoding;           /* PDU_GSM7 / PDU_UCS2 / PDU_8BIT */
    int locking, single;    /* national language ids (gsm7), 0 = default */
    int concat16;           /* 16-bit concatenation reference */
    long parts;             /* may exceed PDU_MAX_PARTS (then an error) */
    size_t per_part;        /* septets / UTF-16 units / octets per part */
    size_t last_units;      /* units in the last part */
    size_t total_units;
    size_t cut[PDU_MAX_PARTS + 1]; /* part i is text[cut[i] .. cut[i+1]) */
} pdu_plan;

/* Octets of UDH (UDHL included) each part carries; 0 for none. */
PDU_API size_t pdu_udh_len(int parts, int concat16, int locking, int single);
/* Units one part can hold after udh_len octets of header. */
PDU_API size_t pdu_capacity(int encoding, size_t udh_len);

/* Decide the alphabet and the cut points (the policy of tests/pdu_policy.py):
 * requested is PDU_AUTO, PDU_GSM7, PDU_UCS2 or PDU_8BIT (then text holds
 * octets, width 1); langs are national language ids in order of
 * preference. Returns 0, or -1 with err (PDU_E_UNENCODABLE for forced gsm7,
 * PDU_E_SURROGATE). plan->parts may exceed PDU_MAX_PARTS: then the cuts
 * are not all recorded and the text cannot be sent (the encoder's check). */
PDU_API int pdu_plan_text(const pdu_text *text, int requested, const int *langs, size_t nlangs,
                  int concat16, pdu_plan *plan, pdu_error *err);

/* The units of part `index`: septet values, UTF-16BE octets or octets.
 * out has room for 2 * PDU_MAX_UD_OCTETS. Returns their length in octets. */
PDU_API size_t pdu_part_units(const pdu_text *text, const pdu_plan *plan, int index, uint8_t *out);

/* The fixed fields of the TPDUs of one message. */
typedef struct {
    int mti;                /* PDU_SUBMIT or PDU_DELIVER */
    uint8_t first;          /* first octet without TP-UDHI (MTI included) */
    uint8_t reference;      /* SUBMIT: TP-MR of the first part; part i adds i */
    uint8_t address[2 + PDU_MAX_ADDR_DIGITS / 2]; /* TP-DA / TP-OA, encoded */
    size_t address_len;
    uint8_t pid, dcs;
    uint8_t vp[7];          /* SUBMIT: TP-VP, vp_len 0, 1 or 7 */
    size_t vp_len;
    uint8_t scts[7];        /* DELIVER: TP-SCTS */
    unsigned concat_ref;
} pdu_header;

/* Write part index (0-based) of total as a TPDU into out (PDU_MAX_TPDU
 * octets): header, UDH (concatenation IE when total > 1, then the locking
 * and single shift IEs), user data from units. Returns the TPDU length, or
 * 0 if the units do not fit in one TP-UD. */
PDU_API size_t pdu_build_tpdu(const pdu_header *h, int index, int total, int encoding,
                      int locking, int single, int concat16,
                      const uint8_t *units, size_t n_units, uint8_t *out);

/* Address fields. number: '+' and digits (0-9 * #); allow_alnum lets a
 * text that is not a number become an alphanumeric address (TON 101). */
PDU_API int pdu_encode_address(const pdu_text *number, int allow_alnum, uint8_t *out,
                       size_t *out_len, pdu_error *err);
/* The SMSC part: length octet, TOA, semi-octets; a NULL number gives 00. */
PDU_API int pdu_encode_smsc(const pdu_text *number, uint8_t *out, size_t *out_len,
                    pdu_error *err);

/* TP-SCTS / absolute TP-VP (23.040 9.2.3.11): year 1990..2089. */
PDU_API int pdu_encode_time(const pdu_time *t, uint8_t out[7], pdu_error *err);
/* Relative TP-VP (9.2.3.12.1) for a period, rounded up, capped at 63
 * weeks: whole seconds plus whether a fraction of a second was left. */
PDU_API uint8_t pdu_relative_vp(long long seconds, int fraction);
/* The period a relative TP-VP stands for, in seconds. */
PDU_API long pdu_relative_vp_seconds(uint8_t vp);

#endif /* PDU_CORE_H */
