/*
 * _pdu: the bit-level half of the SMS PDU codec (3GPP TS 23.040 / 23.038).
 *
 * This module only does mechanical work that is tedious or slow in Python:
 *   - hex <-> bytes (AT+CMGS / +CMGR speak upper-case hex),
 *   - GSM 7-bit default alphabet + extension table <-> Unicode,
 *   - packing / unpacking septets into octets, with leading fill bits.
 * Every decision about *what* to encode (which alphabet, where to split a
 * long message, which header fields) lives in appliance/pdu/__init__.py.
 *
 * Rules this file keeps:
 *   - every length is checked before any buffer access; malformed input
 *     raises ValueError (or TypeError for the wrong type), never crashes;
 *   - every C-API return value is checked and every reference released.
 *
 * The only global data is the alphabet tables. The forward tables are
 * const; the reverse lookup table is derived from them once, at import,
 * so the forward tables are the single source of truth.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GSM7_ESC 0x1B

/* 23.038 section 6.2.1: GSM 7 bit default alphabet. Index = septet value.
 * 0x1B is the escape to the extension table; it is handled in code and
 * its entry here (a space) is only what a lone trailing escape displays as
 * ("a receiving entity which does not understand the escape ... shall
 * display it as a space character"). */
static const Py_UCS4 gsm_default[128] = {
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

/* 23.038 section 6.2.1.1: the extension table, reached by 0x1B + code.
 * 0 = no character at that code. Per the standard, a receiver shows an
 * undefined code as the default-table character with the same value;
 * 0x1B 0x1B (reserved for a further extension table) shows as a space. */
static const Py_UCS4 gsm_ext[128] = {
    [0x0A] = 0x000C, /* form feed (page break) */
    [0x14] = 0x005E, /* ^ */
    [0x28] = 0x007B, /* { */
    [0x29] = 0x007D, /* } */
    [0x2F] = 0x005C, /* \ */
    [0x3C] = 0x005B, /* [ */
    [0x3D] = 0x007E, /* ~ */
    [0x3E] = 0x005D, /* ] */
    [0x40] = 0x007C, /* | */
    [0x65] = 0x20AC, /* euro sign */
};

/* Reverse lookup, built from the tables above at import.
 * Value: -1 = not encodable, 0..0x7F = default-table septet,
 * 0x100 | code = extension-table code (costs two septets). */
#define REV_DIRECT 0x400 /* covers Latin-1 and Greek */
static int16_t rev_direct[REV_DIRECT];
static Py_UCS4 rev_high_ch[8];   /* the few characters above REV_DIRECT */
static int16_t rev_high_code[8];
static int rev_high_n = 0;
static int rev_built = 0;

static int
rev_add(Py_UCS4 ch, int code)
{
    if (ch < REV_DIRECT) {
        if (rev_direct[ch] < 0) /* first mapping wins: default before ext */
            rev_direct[ch] = (int16_t)code;
        return 0;
    }
    for (int i = 0; i < rev_high_n; i++)
        if (rev_high_ch[i] == ch)
            return 0;
    if (rev_high_n >= (int)(sizeof rev_high_ch / sizeof rev_high_ch[0]))
        return -1;
    rev_high_ch[rev_high_n] = ch;
    rev_high_code[rev_high_n] = (int16_t)code;
    rev_high_n++;
    return 0;
}

static int
rev_build(void)
{
    if (rev_built)
        return 0;
    for (int i = 0; i < REV_DIRECT; i++)
        rev_direct[i] = -1;
    rev_high_n = 0;
    for (int s = 0; s < 128; s++) {
        if (s == GSM7_ESC)
            continue; /* the escape itself is not a character */
        if (rev_add(gsm_default[s], s) < 0)
            return -1;
    }
    for (int e = 0; e < 128; e++) {
        if (gsm_ext[e] == 0)
            continue;
        if (rev_add(gsm_ext[e], 0x100 | e) < 0)
            return -1;
    }
    rev_built = 1;
    return 0;
}

static int
gsm7_lookup(Py_UCS4 ch)
{
    if (ch < REV_DIRECT)
        return rev_direct[ch];
    for (int i = 0; i < rev_high_n; i++)
        if (rev_high_ch[i] == ch)
            return rev_high_code[i];
    return -1;
}

/* ------------------------------------------------------------------ hex */

static const char hexdigits[] = "0123456789ABCDEF";

static int
hexval(Py_UCS4 c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

/* PyUnicode_FromFormat has no %X before 3.12: format hex numbers here. */
static const char *
fmt_hex(char *buf, size_t size, unsigned int value, int width)
{
    PyOS_snprintf(buf, size, "%0*X", width, value);
    return buf;
}

PyDoc_STRVAR(hex_encode_doc,
"hex_encode(data, /) -> str\n\n"
"Upper-case hex of a bytes-like object (the form AT+CMGS expects).");

static PyObject *
pdu_hex_encode(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len > PY_SSIZE_T_MAX / 2) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    PyObject *out = PyUnicode_New(view.len * 2, 127);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_UCS1 *dst = PyUnicode_1BYTE_DATA(out);
    const unsigned char *src = (const unsigned char *)view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        dst[2 * i] = (Py_UCS1)hexdigits[src[i] >> 4];
        dst[2 * i + 1] = (Py_UCS1)hexdigits[src[i] & 0x0F];
    }
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(hex_decode_doc,
"hex_decode(text, /) -> bytes\n\n"
"Bytes from hex given as str or a bytes-like object (either case).\n"
"ValueError names the offending character offset on odd length or a\n"
"non-hex character; no whitespace is tolerated.");

static PyObject *
pdu_hex_decode(PyObject *module, PyObject *arg)
{
    (void)module;
    if (PyUnicode_Check(arg)) {
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(arg) < 0)
            return NULL;
#endif
        Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
        int kind = PyUnicode_KIND(arg);
        const void *data = PyUnicode_DATA(arg);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (hexval(PyUnicode_READ(kind, data, i)) < 0) {
                char hx[16];
                return PyErr_Format(PyExc_ValueError,
                    "non-hex character U+%s at offset %zd",
                    fmt_hex(hx, sizeof hx,
                            (unsigned int)PyUnicode_READ(kind, data, i), 4),
                    i);
            }
        }
        if (n % 2 != 0) {
            return PyErr_Format(PyExc_ValueError,
                "odd hex length %zd: the digit at offset %zd has no partner",
                n, n - 1);
        }
        PyObject *out = PyBytes_FromStringAndSize(NULL, n / 2);
        if (out == NULL)
            return NULL;
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
        for (Py_ssize_t i = 0; i < n / 2; i++) {
            int hi = hexval(PyUnicode_READ(kind, data, 2 * i));
            int lo = hexval(PyUnicode_READ(kind, data, 2 * i + 1));
            dst[i] = (unsigned char)((hi << 4) | lo);
        }
        return out;
    }

    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                "hex_decode() expects str or a bytes-like object, not %.100s",
                Py_TYPE(arg)->tp_name);
        }
        return NULL;
    }
    const unsigned char *src = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (hexval(src[i]) < 0) {
            char hx[16];
            fmt_hex(hx, sizeof hx, src[i], 2);
            PyBuffer_Release(&view);
            return PyErr_Format(PyExc_ValueError,
                "non-hex byte 0x%s at offset %zd", hx, i);
        }
    }
    if (n % 2 != 0) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError,
            "odd hex length %zd: the digit at offset %zd has no partner",
            n, n - 1);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, n / 2);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n / 2; i++)
        dst[i] = (unsigned char)((hexval(src[2 * i]) << 4) | hexval(src[2 * i + 1]));
    PyBuffer_Release(&view);
    return out;
}

/* ----------------------------------------------------------- alphabet */

static int
check_str(PyObject *arg, const char *fname)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() expects str, not %.100s",
                     fname, Py_TYPE(arg)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0)
        return -1;
#endif
    return 0;
}

PyDoc_STRVAR(gsm7_encode_doc,
"gsm7_encode(text, /) -> bytes\n\n"
"Septet values (one per byte, 0..127) for text in the GSM 7-bit default\n"
"alphabet; extension-table characters become 0x1B + code (two septets).\n"
"ValueError names the first character with no mapping and its index.");

static PyObject *
pdu_gsm7_encode(PyObject *module, PyObject *arg)
{
    (void)module;
    if (check_str(arg, "gsm7_encode") < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);

    if (n > PY_SSIZE_T_MAX / 2)
        return PyErr_NoMemory();
    /* First pass: validate and size, so the output is allocated once. */
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        int code = gsm7_lookup(ch);
        if (code < 0) {
            char hx[16];
            PyObject *c = PyUnicode_Substring(arg, i, i + 1);
            if (c == NULL)
                return NULL;
            PyErr_Format(PyExc_ValueError,
                "character %R (U+%s) at index %zd has no GSM 7-bit mapping",
                c, fmt_hex(hx, sizeof hx, (unsigned int)ch, 4), i);
            Py_DECREF(c);
            return NULL;
        }
        size += (code & 0x100) ? 2 : 1; /* <= 2n: no overflow */
    }

    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int code = gsm7_lookup(PyUnicode_READ(kind, data, i));
        if (code & 0x100) {
            dst[j++] = GSM7_ESC;
            dst[j++] = (unsigned char)(code & 0x7F);
        } else {
            dst[j++] = (unsigned char)code;
        }
    }
    return out;
}

PyDoc_STRVAR(gsm7_encodable_doc,
"gsm7_encodable(text, /) -> bool\n\n"
"True if every character of text is in the GSM 7-bit default alphabet or\n"
"its extension table (no allocation; used to pick the encoding).");

static PyObject *
pdu_gsm7_encodable(PyObject *module, PyObject *arg)
{
    (void)module;
    if (check_str(arg, "gsm7_encodable") < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    for (Py_ssize_t i = 0; i < n; i++)
        if (gsm7_lookup(PyUnicode_READ(kind, data, i)) < 0)
            Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(gsm7_decode_doc,
"gsm7_decode(septets, /) -> str\n\n"
"Text from septet values (one per byte). Extension codes with no\n"
"character show as the default-table character of the same value,\n"
"0x1B 0x1B and a lone trailing 0x1B as a space (23.038 6.2.1.1).\n"
"ValueError if a value is above 0x7F.");

static PyObject *
pdu_gsm7_decode(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *src = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (src[i] > 0x7F) {
            char hx[16];
            fmt_hex(hx, sizeof hx, src[i], 2);
            PyBuffer_Release(&view);
            return PyErr_Format(PyExc_ValueError,
                "septet value 0x%s at index %zd is not 7-bit", hx, i);
        }
    }
    if (n > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_UCS4)) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_UCS4 *buf = PyMem_Malloc(n > 0 ? (size_t)n * sizeof(Py_UCS4) : 1);
    if (buf == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char s = src[i];
        if (s != GSM7_ESC) {
            buf[j++] = gsm_default[s];
        } else if (i + 1 >= n) {
            buf[j++] = 0x20; /* lone escape at the end */
        } else {
            unsigned char e = src[++i];
            if (e == GSM7_ESC)
                buf[j++] = 0x20; /* reserved for another extension table */
            else if (gsm_ext[e] != 0)
                buf[j++] = gsm_ext[e];
            else
                buf[j++] = gsm_default[e];
        }
    }
    PyBuffer_Release(&view);
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, j);
    PyMem_Free(buf);
    return out;
}

/* -------------------------------------------------------- septet packing */

PyDoc_STRVAR(pack7_doc,
"pack7(septets, fill_bits=0) -> bytes\n\n"
"Pack septet values (one per byte, 0..127) into octets, least significant\n"
"bit first, after fill_bits (0..6) zero bits. The fill bits let the first\n"
"septet start on a septet boundary after a user data header.");

static PyObject *
pdu_pack7(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"septets", "fill_bits", NULL};
    Py_buffer view;
    int fill = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|i:pack7", kwlist,
                                     &view, &fill))
        return NULL;
    if (fill < 0 || fill > 6) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError,
                            "fill_bits must be 0..6, not %d", fill);
    }
    const unsigned char *src = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (src[i] > 0x7F) {
            char hx[16];
            fmt_hex(hx, sizeof hx, src[i], 2);
            PyBuffer_Release(&view);
            return PyErr_Format(PyExc_ValueError,
                "septet value 0x%s at index %zd is not 7-bit", hx, i);
        }
    }
    if (n > (PY_SSIZE_T_MAX - 14) / 7) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_ssize_t bits = (Py_ssize_t)fill + 7 * n;
    Py_ssize_t outlen = (bits + 7) / 8;
    PyObject *out = PyBytes_FromStringAndSize(NULL, outlen);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    memset(dst, 0, (size_t)outlen);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t pos = (Py_ssize_t)fill + 7 * i;
        Py_ssize_t byte = pos >> 3;
        int shift = (int)(pos & 7);
        unsigned int s = src[i];
        dst[byte] |= (unsigned char)((s << shift) & 0xFF);
        /* A septet starting at bit 2..7 spills into the next octet, which
         * exists because outlen covers pos + 7 bits. */
        if (shift > 1 && byte + 1 < outlen)
            dst[byte + 1] |= (unsigned char)(s >> (8 - shift));
    }
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(unpack7_doc,
"unpack7(data, count, fill_bits=0) -> bytes\n\n"
"The first count septets packed in data after fill_bits (0..6) bits, one\n"
"septet value per byte. ValueError if data is too short for count.");

static PyObject *
pdu_unpack7(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"data", "count", "fill_bits", NULL};
    Py_buffer view;
    Py_ssize_t count;
    int fill = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*n|i:unpack7", kwlist,
                                     &view, &count, &fill))
        return NULL;
    if (fill < 0 || fill > 6) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError,
                            "fill_bits must be 0..6, not %d", fill);
    }
    if (count < 0) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError,
                            "count must be >= 0, not %zd", count);
    }
    if (count > (PY_SSIZE_T_MAX - 14) / 7) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "count %zd is too large", count);
    }
    Py_ssize_t bits = (Py_ssize_t)fill + 7 * count;
    Py_ssize_t need = (bits + 7) / 8;
    if (need > view.len) {
        Py_ssize_t have = view.len;
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError,
            "%zd septets after %d fill bits need %zd octets, only %zd given",
            count, fill, need, have);
    }
    const unsigned char *src = (const unsigned char *)view.buf;
    Py_ssize_t len = view.len;
    PyObject *out = PyBytes_FromStringAndSize(NULL, count);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t pos = (Py_ssize_t)fill + 7 * i;
        Py_ssize_t byte = pos >> 3;
        int shift = (int)(pos & 7);
        unsigned int v = (unsigned int)src[byte] >> shift;
        if (shift > 1 && byte + 1 < len)
            v |= (unsigned int)src[byte + 1] << (8 - shift);
        dst[i] = (unsigned char)(v & 0x7F);
    }
    PyBuffer_Release(&view);
    return out;
}

/* ------------------------------------------------------------- module */

static PyMethodDef pdu_methods[] = {
    {"hex_encode", pdu_hex_encode, METH_O, hex_encode_doc},
    {"hex_decode", pdu_hex_decode, METH_O, hex_decode_doc},
    {"gsm7_encode", pdu_gsm7_encode, METH_O, gsm7_encode_doc},
    {"gsm7_encodable", pdu_gsm7_encodable, METH_O, gsm7_encodable_doc},
    {"gsm7_decode", pdu_gsm7_decode, METH_O, gsm7_decode_doc},
    {"pack7", (PyCFunction)(void (*)(void))pdu_pack7,
     METH_VARARGS | METH_KEYWORDS, pack7_doc},
    {"unpack7", (PyCFunction)(void (*)(void))pdu_unpack7,
     METH_VARARGS | METH_KEYWORDS, unpack7_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"Bit-level helpers for the SMS PDU codec (3GPP TS 23.040 / 23.038).\n"
"Use appliance.pdu, not this module, from application code.");

static struct PyModuleDef pdu_module = {
    PyModuleDef_HEAD_INIT,
    "appliance.pdu._pdu", /* m_name */
    module_doc,           /* m_doc */
    -1,                   /* m_size: no per-module state */
    pdu_methods,          /* m_methods */
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__pdu(void)
{
    if (rev_build() < 0) {
        PyErr_SetString(PyExc_SystemError,
                        "_pdu: GSM 7-bit reverse table overflow");
        return NULL;
    }
    return PyModule_Create(&pdu_module);
}
