/*
 * _pdu: the Python face of the SMS PDU codec (3GPP TS 23.040 / 23.038).
 *
 * The bit work is in pdu_core.c (plain C, fuzzed on its own); this file
 * only converts between Python objects and the core's C structures, and
 * builds the result objects directly (no Python code runs per field or per
 * object). It is compiled as one unit with pdu_core.c, which it includes, so
 * the extension keeps a single source file in pyproject.toml.
 *
 * The result types (Deliver, Submit, StatusReport, Concat, Mwi, Part, Count)
 * are small immutable C types: a fixed array of fields with read-only
 * attributes, equality and hashing by value, a keyword constructor, repr and
 * pickling; appliance.pdu re-exports them.
 *
 * Rules this file keeps:
 *   - every C-API return value is checked and every reference released on
 *     every path (records are created with their fields NULL and filled in
 *     place, so a failure half-way only needs one Py_DECREF);
 *   - malformed input raises appliance.pdu.PDUError (registered by
 *     appliance/pdu/__init__.py at import), never anything else.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <stddef.h>
#include <string.h>

#define PDU_API static
#include "pdu_core.c"

/* ===================================================== cached objects */

static PyObject *PDUError = NULL; /* appliance.pdu.PDUError, set by _init() */
static PyObject *str_encoding[3]; /* "gsm7", "8bit", "ucs2" by PDU_GSM7.. */
static PyObject *str_mwi_kind[4];
static PyObject *str_language[PDU_LANG_COUNT];
static PyObject *tz_cache[2 * 79 + 1]; /* timezone objects by quarter hours */

/* keyword names, interned */
enum {
    KW_PDU, KW_SMSC, KW_NUMBER, KW_TEXT, KW_ENCODING, KW_STATUS_REPORT, KW_VALIDITY,
    KW_REFERENCE, KW_CONCAT_REFERENCE, KW_MESSAGE_CLASS, KW_REJECT_DUPLICATES,
    KW_NATIONAL_LANGUAGES, KW_TIMESTAMP, KW_STRICT, KW_COUNT
};
static const char *const kw_names[KW_COUNT] = {
    "pdu", "smsc", "number", "text", "encoding", "status_report", "validity",
    "reference", "concat_reference", "message_class", "reject_duplicates",
    "national_languages", "timestamp", "strict",
};
static PyObject *kw_interned[KW_COUNT];

/* ============================================================ errors */

/* Raise PDUError(message, offset=offset or None, field=field); steals msg. */
static PyObject *
raise_pdu_error(PyObject *msg, Py_ssize_t offset, const char *field)
{
    if (msg == NULL)
        return NULL;
    if (PDUError == NULL) {
        PyErr_SetObject(PyExc_ValueError, msg);
        Py_DECREF(msg);
        return NULL;
    }
    PyObject *args = NULL, *kwargs = NULL, *exc = NULL;
    args = PyTuple_Pack(1, msg);
    if (args == NULL)
        goto done;
    kwargs = PyDict_New();
    if (kwargs == NULL)
        goto done;
    {
        PyObject *off = offset >= 0 ? PyLong_FromSsize_t(offset) : Py_NewRef(Py_None);
        if (off == NULL)
            goto done;
        int rc = PyDict_SetItemString(kwargs, "offset", off);
        Py_DECREF(off);
        if (rc < 0)
            goto done;
        PyObject *fld = field ? PyUnicode_FromString(field) : Py_NewRef(Py_None);
        if (fld == NULL)
            goto done;
        rc = PyDict_SetItemString(kwargs, "field", fld);
        Py_DECREF(fld);
        if (rc < 0)
            goto done;
    }
    exc = PyObject_Call(PDUError, args, kwargs);
    if (exc != NULL)
        PyErr_SetObject(PDUError, exc);
done:
    Py_XDECREF(exc);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_DECREF(msg);
    return NULL;
}

/* An argument error: PDUError("<field>: <message>", field=field). */
static PyObject *
arg_error(const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *body = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (body == NULL)
        return NULL;
    PyObject *msg = PyUnicode_FromFormat("%s: %U", field, body);
    Py_DECREF(body);
    return raise_pdu_error(msg, -1, field);
}

/* PyUnicode_FromFormat has no %X before 3.12 */
static const char *
hex4(char *buf, size_t size, unsigned long value)
{
    PyOS_snprintf(buf, size, "%04lX", value);
    return buf;
}

/* ============================================================ records */

typedef struct {
    PyObject_HEAD
    PyObject *f[1]; /* as many as the type has fields */
} Record;

#define REC_FIELDS_OFFSET offsetof(Record, f)

/* Two fields of a decoded TPDU are built on first use, as most readers never
 * look at them: udh (a list of tuples of bytes, a third of what decode()
 * would spend on objects) and data (the inbox reads it only to rejoin an
 * escape or a surrogate pair cut between parts). Until then their slots are
 * NULL and what they are made of waits after the fields: the information
 * elements as (iei, length, data) triples, at most the 140 octets of TP-UD,
 * and the septets or octets of the body. */
#define F_DATA 3
#define F_UDH 6
typedef struct {
    uint8_t udh_len;
    uint8_t data_len;
    uint8_t udh[PDU_MAX_UD_OCTETS];
    uint8_t data[PDU_MAX_UD_SEPTETS];
} Pending;

typedef struct {
    const char *name;
    const char *doc;
    const char *const *fields;
    const char *const *field_docs;
    int n;     /* fields */
    int nreq;  /* the first nreq are required by the constructor */
} RecordSpec;

enum { T_PART, T_CONCAT, T_COUNT, T_MWI, T_DELIVER, T_SUBMIT, T_STATUS, N_TYPES };

/* The fields every decoded TPDU has, in this order, first. */
#define DECODED_FIELDS \
    "smsc", "number", "text", "data", "encoding", "concat", "udh", "message_class", \
    "pid", "dcs", "toa", "mwi"
#define DECODED_DOCS \
    "SMSC address from the SMSC part ('+' when international), or None", \
    "TP-OA / TP-DA / TP-RA: '+' and digits when international, digits (and * # a b c) " \
        "otherwise, the text of an alphanumeric address", \
    "the user data as text (str); None for 8-bit data and when there is no user data", \
    "the user data after the UDH: septet values (gsm7, one per byte), UTF-16-BE " \
        "octets (ucs2) or the octets (8bit); join the parts' data to rejoin a split " \
        "escape or surrogate pair", \
    "'gsm7', 'ucs2' or '8bit' (compressed text is '8bit')", \
    "Concat from UDH IEI 0x00 / 0x08, or None", \
    "UDH information elements as a list of (iei, data bytes), unknown ones included", \
    "TP-DCS message class 0..3 (0 = flash), or None", \
    "TP-PID, or None when a status report leaves it out", \
    "TP-DCS, or None when a status report leaves it out", \
    "type-of-address octet of number (0x91 international, 0x81 unknown, 0xA1 national, " \
        "0xD0 alphanumeric, ...)", \
    "Mwi when TP-DCS is in a message waiting indication group (0xC-0xE), else None"
#define N_COMMON 12
/* The last field of every decoded TPDU. */
#define REPAIRS_DOC \
    "what decode(strict=False) repaired to read the PDU, one note (str) each; () when " \
    "nothing was"

static const char *const part_fields[] = {"pdu", "tpdu_length"};
static const char *const part_docs[] = {
    "upper-case hex, the SMSC part ('00' = the modem's default) included, as AT+CMGS "
    "wants it after the prompt",
    "octets after the SMSC part: the number AT+CMGS=<n> wants",
};
static const char *const concat_fields[] = {"reference", "total", "sequence"};
static const char *const concat_docs[] = {
    "concatenation reference (8 or 16 bits)", "number of parts", "this part, from 1",
};
static const char *const count_fields[] = {"parts", "encoding", "per_part", "remaining",
                                           "locking_shift", "single_shift"};
static const char *const count_docs[] = {
    "SMS parts the text needs",
    "'gsm7', 'ucs2' or '8bit'",
    "capacity of each part in septets (gsm7), UTF-16 units (ucs2) or octets (8bit)",
    "units still free in the last part",
    "national language of the locking shift table in use ('turkish', 'portuguese'), or None",
    "national language of the single shift table in use, or None",
};
static const char *const mwi_fields[] = {"kind", "active", "store"};
static const char *const mwi_docs[] = {
    "'voicemail', 'fax', 'email' or 'other'",
    "True: set the indication; False: clear it",
    "False for coding group 0xC (the message may be discarded), True for 0xD / 0xE",
};
static const char *const deliver_fields[] = {
    DECODED_FIELDS, "timestamp", "reply_path", "status_report_indication", "more_messages",
    "repairs"};
static const char *const deliver_docs[] = {
    DECODED_DOCS,
    "TP-SCTS: when the SMSC received the message (aware datetime; the time of decoding "
        "when a lenient decode could not read it)",
    "TP-RP",
    "TP-SRI: the sender asked for a status report",
    "TP-MMS clear: the SMSC has more messages waiting",
    REPAIRS_DOC,
};
static const char *const submit_fields[] = {
    DECODED_FIELDS, "reference", "validity", "status_report_requested", "reject_duplicates",
    "reply_path", "repairs"};
static const char *const submit_docs[] = {
    DECODED_DOCS,
    "TP-MR",
    "TP-VP: timedelta (relative or enhanced format), aware datetime (absolute), or None",
    "TP-SRR", "TP-RD", "TP-RP",
    REPAIRS_DOC,
};
static const char *const status_fields[] = {
    DECODED_FIELDS, "reference", "status", "timestamp", "discharge_time", "repairs"};
static const char *const status_docs[] = {
    DECODED_DOCS,
    "TP-MR of the SMS-SUBMIT this reports on",
    "TP-ST (0x00..0x1F completed, 0x20..0x3F still trying, 0x40.. failed)",
    "TP-SCTS: when the SMSC took the message (or, unreadable in a lenient decode, the time "
        "of decoding)",
    "TP-DT: when the status was reached (or, as timestamp, the time of decoding)",
    REPAIRS_DOC,
};

#define NFIELDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const RecordSpec specs[N_TYPES] = {
    [T_PART] = {"appliance.pdu.Part",
                "Part(pdu, tpdu_length)\n--\n\n"
                "One SMS-SUBMIT or SMS-DELIVER ready for the modem.",
                part_fields, part_docs, NFIELDS(part_fields), 2},
    [T_CONCAT] = {"appliance.pdu.Concat",
                  "Concat(reference, total, sequence)\n--\n\n"
                  "Concatenation info from UDH IEI 0x00 (8-bit reference) or 0x08 (16-bit).\n"
                  "Parts of one message share reference and total; sequence counts from 1.",
                  concat_fields, concat_docs, NFIELDS(concat_fields), 3},
    [T_COUNT] = {"appliance.pdu.Count",
                 "Count(parts, encoding, per_part, remaining, locking_shift=None, "
                 "single_shift=None)\n--\n\n"
                 "How a text would be sent: parts SMS in encoding, per_part units each,\n"
                 "remaining units free in the last one (an extension character costs\n"
                 "two septets, an emoji two UTF-16 units).",
                 count_fields, count_docs, NFIELDS(count_fields), 4},
    [T_MWI] = {"appliance.pdu.Mwi",
               "Mwi(kind, active, store)\n--\n\n"
               "A message waiting indication from TP-DCS coding groups 0xC..0xE\n"
               "(23.038 4). UDH IEI 0x01 indications stay in udh.",
               mwi_fields, mwi_docs, NFIELDS(mwi_fields), 3},
    [T_DELIVER] = {"appliance.pdu.Deliver",
                   "A received SMS-DELIVER; number is its originator.",
                   deliver_fields, deliver_docs, NFIELDS(deliver_fields),
                   NFIELDS(deliver_fields)},
    [T_SUBMIT] = {"appliance.pdu.Submit",
                  "A decoded SMS-SUBMIT (what encode_submit produces, or a stored one);\n"
                  "number is the destination.",
                  submit_fields, submit_docs, NFIELDS(submit_fields), NFIELDS(submit_fields)},
    [T_STATUS] = {"appliance.pdu.StatusReport",
                  "A received SMS-STATUS-REPORT; number is the recipient of the message\n"
                  "it reports on.",
                  status_fields, status_docs, NFIELDS(status_fields), NFIELDS(status_fields)},
};

static PyTypeObject *types[N_TYPES];
static PyMemberDef members[N_TYPES][24];

static const RecordSpec *
spec_of(PyTypeObject *tp)
{
    for (int i = 0; i < N_TYPES; i++)
        if (types[i] == tp)
            return &specs[i];
    return NULL;
}

static int
is_decoded(PyTypeObject *tp)
{
    return tp == types[T_DELIVER] || tp == types[T_SUBMIT] || tp == types[T_STATUS];
}

static Py_ssize_t
rec_size(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    size_t after = is_decoded(tp) ? sizeof(Pending) : 0;
    return (tp->tp_basicsize - (Py_ssize_t)REC_FIELDS_OFFSET - (Py_ssize_t)after) /
           (Py_ssize_t)sizeof(PyObject *);
}

static Pending *
pending(PyObject *self)
{
    return (Pending *)((char *)self + REC_FIELDS_OFFSET + (size_t)rec_size(self) * sizeof(PyObject *));
}

static int
lazy_slot(Py_ssize_t i)
{
    return i == F_UDH || i == F_DATA;
}

static PyObject *
udh_list(const Pending *p)
{
    Py_ssize_t count = 0;
    for (size_t at = 0; at + 2 <= p->udh_len; at += 2 + (size_t)p->udh[at + 1])
        count++;
    PyObject *udh = PyList_New(count);
    Py_ssize_t k = 0;
    for (size_t at = 0; udh != NULL && at + 2 <= p->udh_len; at += 2 + (size_t)p->udh[at + 1]) {
        PyObject *iei = PyLong_FromLong(p->udh[at]);
        PyObject *data = iei ? PyBytes_FromStringAndSize((const char *)p->udh + at + 2,
                                                         (Py_ssize_t)p->udh[at + 1])
                             : NULL;
        PyObject *pair = data ? PyTuple_Pack(2, iei, data) : NULL;
        Py_XDECREF(iei);
        Py_XDECREF(data);
        if (pair == NULL)
            Py_CLEAR(udh); /* list_dealloc skips the slots not yet set */
        else
            PyList_SET_ITEM(udh, k++, pair);
    }
    return udh;
}

/* Field i, built now if it waited; a borrowed reference, or NULL with an
 * exception set. Everything that reads a record's fields goes through here. */
static PyObject *
rec_field(PyObject *self, Py_ssize_t i)
{
    Record *r = (Record *)self;
    if (r->f[i] != NULL)
        return r->f[i];
    if (!lazy_slot(i) || !is_decoded(Py_TYPE(self)))
        return Py_None;
    const Pending *p = pending(self);
    r->f[i] = i == F_UDH ? udh_list(p)
                         : PyBytes_FromStringAndSize((const char *)p->data, p->data_len);
    if (i == F_UDH && r->f[i] != NULL && !PyObject_GC_IsTracked(self))
        PyObject_GC_Track(self); /* a list: a container the GC must see */
    return r->f[i];
}

static PyObject *
rec_get_lazy(PyObject *self, void *closure)
{
    return Py_XNewRef(rec_field(self, (Py_ssize_t)(intptr_t)closure));
}

/* names and docs filled from the field specs by make_types() */
static PyGetSetDef decoded_getset[] = {
    {NULL, rec_get_lazy, NULL, NULL, (void *)(intptr_t)F_DATA},
    {NULL, rec_get_lazy, NULL, NULL, (void *)(intptr_t)F_UDH},
    {NULL, NULL, NULL, NULL, NULL},
};

/* A new record with every field NULL, not tracked by the GC: what this file
 * puts in records are ints, str, bytes, bools, datetimes and untracked
 * records, which cannot form a cycle (like a tuple of atoms, which CPython
 * untracks too). A decoded TPDU is tracked once it holds its udh list; made
 * from Python (tp_new), every record is tracked. */
static Record *
rec_alloc(int t)
{
    Record *r = PyObject_GC_New(Record, types[t]);
    if (r == NULL)
        return NULL;
    memset(r->f, 0, (size_t)specs[t].n * sizeof(PyObject *));
    return r;
}

static int
rec_traverse(PyObject *self, visitproc visit, void *arg)
{
    Record *r = (Record *)self;
    Py_VISIT(Py_TYPE(self));
    for (Py_ssize_t i = 0, n = rec_size(self); i < n; i++)
        Py_VISIT(r->f[i]);
    return 0;
}

static int
rec_clear(PyObject *self)
{
    Record *r = (Record *)self;
    for (Py_ssize_t i = 0, n = rec_size(self); i < n; i++)
        Py_CLEAR(r->f[i]);
    return 0;
}

static void
rec_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    rec_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *
rec_new(PyTypeObject *tp, PyObject *args, PyObject *kwargs)
{
    const RecordSpec *s = spec_of(tp);
    if (s == NULL) {
        PyErr_SetString(PyExc_TypeError, "cannot create this type");
        return NULL;
    }
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs > s->n) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)",
                     tp->tp_name, s->n, nargs);
        return NULL;
    }
    Record *r = (Record *)tp->tp_alloc(tp, 0); /* zeroed, tracked */
    if (r == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        r->f[i] = Py_NewRef(PyTuple_GET_ITEM(args, i));
    if (kwargs != NULL) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwargs, &pos, &key, &value)) {
            int found = -1;
            for (int i = 0; i < s->n; i++) {
                if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, s->fields[i]) == 0) {
                    found = i;
                    break;
                }
            }
            if (found < 0) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R",
                             tp->tp_name, key);
                goto fail;
            }
            if (r->f[found] != NULL) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                             tp->tp_name, s->fields[found]);
                goto fail;
            }
            r->f[found] = Py_NewRef(value);
        }
    }
    for (int i = 0; i < s->n; i++) {
        if (r->f[i] != NULL)
            continue;
        if (i < s->nreq) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", tp->tp_name,
                         s->fields[i]);
            goto fail;
        }
        r->f[i] = Py_NewRef(Py_None);
    }
    return (PyObject *)r;
fail:
    Py_DECREF(r);
    return NULL;
}

static PyObject *
rec_fields_tuple(PyObject *self)
{
    Py_ssize_t n = rec_size(self);
    PyObject *t = PyTuple_New(n);
    if (t == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = rec_field(self, i);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, Py_NewRef(v));
    }
    return t;
}

static PyObject *
rec_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    for (Py_ssize_t i = 0, n = rec_size(a); i < n; i++) {
        PyObject *u = rec_field(a, i), *v = u ? rec_field(b, i) : NULL;
        if (v == NULL)
            return NULL;
        int eq = PyObject_RichCompareBool(u, v, Py_EQ);
        if (eq < 0)
            return NULL;
        if (!eq)
            return Py_NewRef(op == Py_EQ ? Py_False : Py_True);
    }
    return Py_NewRef(op == Py_EQ ? Py_True : Py_False);
}

static Py_hash_t
rec_hash(PyObject *self)
{
    PyObject *t = rec_fields_tuple(self);
    if (t == NULL)
        return -1;
    Py_hash_t h = PyObject_Hash(t);
    Py_DECREF(t);
    return h;
}

static PyObject *
rec_repr(PyObject *self)
{
    const RecordSpec *s = spec_of(Py_TYPE(self));
    if (s == NULL)
        return PyUnicode_FromString("<record>");
    int rc = Py_ReprEnter(self);
    if (rc != 0)
        return rc > 0 ? PyUnicode_FromString("...") : NULL;
    PyObject *parts = PyList_New(0), *out = NULL, *sep = NULL, *body = NULL;
    if (parts == NULL)
        goto done;
    for (int i = 0; i < s->n; i++) {
        PyObject *value = rec_field(self, i);
        PyObject *item = value ? PyUnicode_FromFormat("%s=%R", s->fields[i], value) : NULL;
        if (item == NULL || PyList_Append(parts, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    sep = PyUnicode_FromString(", ");
    if (sep == NULL)
        goto done;
    body = PyUnicode_Join(sep, parts);
    if (body == NULL)
        goto done;
    const char *dot = strrchr(s->name, '.');
    out = PyUnicode_FromFormat("%s(%U)", dot ? dot + 1 : s->name, body);
done:
    Py_XDECREF(body);
    Py_XDECREF(sep);
    Py_XDECREF(parts);
    Py_ReprLeave(self);
    return out;
}

static PyObject *
rec_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *t = rec_fields_tuple(self);
    if (t == NULL)
        return NULL;
    PyObject *out = PyTuple_Pack(2, (PyObject *)Py_TYPE(self), t);
    Py_DECREF(t);
    return out;
}

static PyObject *
rec_replace(PyObject *self, PyObject *args, PyObject *kwargs)
{
    const RecordSpec *s = spec_of(Py_TYPE(self));
    if (s == NULL || PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError, "_replace() takes keyword arguments only");
        return NULL;
    }
    PyObject *kw = PyDict_New();
    if (kw == NULL)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        PyObject *value = rec_field(self, i);
        if (value == NULL || PyDict_SetItemString(kw, s->fields[i], value) < 0) {
            Py_DECREF(kw);
            return NULL;
        }
    }
    if (kwargs != NULL && PyDict_Update(kw, kwargs) < 0) {
        Py_DECREF(kw);
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    PyObject *out = empty ? rec_new(Py_TYPE(self), empty, kw) : NULL;
    Py_XDECREF(empty);
    Py_DECREF(kw);
    return out;
}

static PyMethodDef rec_methods[] = {
    {"__reduce__", rec_reduce, METH_NOARGS, NULL},
    {"_replace", (PyCFunction)(void (*)(void))rec_replace, METH_VARARGS | METH_KEYWORDS,
     "A copy with the given fields replaced."},
    {NULL, NULL, 0, NULL},
};

static int
make_types(PyObject *module)
{
    for (int t = 0; t < N_TYPES; t++) {
        const RecordSpec *s = &specs[t];
        if (s->n >= (int)(sizeof members[t] / sizeof members[t][0]))
            return -1;
        int decoded = t == T_DELIVER || t == T_SUBMIT || t == T_STATUS;
        for (int i = 0, k = 0; i < s->n; i++) {
            if (decoded && lazy_slot(i)) {
                for (PyGetSetDef *g = decoded_getset; g->get != NULL; g++) {
                    if ((intptr_t)g->closure == i) {
                        g->name = s->fields[i];
                        g->doc = s->field_docs[i];
                    }
                }
                continue; /* built on first use */
            }
            PyMemberDef *member = &members[t][k++];
            member->name = s->fields[i];
            member->type = T_OBJECT_EX;
            member->offset = (Py_ssize_t)(REC_FIELDS_OFFSET + (size_t)i * sizeof(PyObject *));
            member->flags = READONLY;
            member->doc = s->field_docs[i];
        }
        PyType_Slot slots[] = {
            {Py_tp_dealloc, (void *)rec_dealloc},
            {Py_tp_traverse, (void *)rec_traverse},
            {Py_tp_clear, (void *)rec_clear},
            {Py_tp_new, (void *)rec_new},
            {Py_tp_repr, (void *)rec_repr},
            {Py_tp_richcompare, (void *)rec_richcompare},
            {Py_tp_hash, (void *)rec_hash},
            {Py_tp_members, (void *)members[t]},
            {Py_tp_methods, (void *)rec_methods},
            {Py_tp_doc, (void *)s->doc},
            {decoded ? Py_tp_getset : 0, decoded ? (void *)decoded_getset : NULL},
            {0, NULL},
        };
        PyType_Spec spec = {
            s->name,
            (int)(REC_FIELDS_OFFSET + (size_t)s->n * sizeof(PyObject *) +
                  (decoded ? sizeof(Pending) : 0)),
            0,
            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
            slots,
        };
        PyObject *tp = PyType_FromSpec(&spec);
        if (tp == NULL)
            return -1;
        types[t] = (PyTypeObject *)tp;
        /* __match_args__ and _fields: the field names in order */
        PyObject *names = PyTuple_New(s->n);
        if (names == NULL)
            return -1;
        for (int i = 0; i < s->n; i++) {
            PyObject *name = PyUnicode_InternFromString(s->fields[i]);
            if (name == NULL) {
                Py_DECREF(names);
                return -1;
            }
            PyTuple_SET_ITEM(names, i, name);
        }
        int rc = PyObject_SetAttrString(tp, "__match_args__", names);
        if (rc == 0)
            rc = PyObject_SetAttrString(tp, "_fields", names);
        Py_DECREF(names);
        if (rc < 0)
            return -1;
        const char *dot = strrchr(s->name, '.');
        if (PyModule_AddObjectRef(module, dot + 1, tp) < 0)
            return -1;
    }
    return 0;
}

/* ========================================================= arguments */

/* Fast keyword parsing for METH_FASTCALL | METH_KEYWORDS: fills out[] (by
 * index into kw_names) with borrowed references; names[] lists the
 * accepted keywords in positional order, the first maxpos of which may be
 * given positionally. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           const int *names, int nnames, int maxpos, PyObject **out)
{
    if (nargs > maxpos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)",
                     fname, maxpos, maxpos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[names[i]] = args[i];
    if (kwnames == NULL)
        return 0;
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int i = 0; i < nnames; i++) {
            if (key == kw_interned[names[i]]) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            for (int i = 0; i < nnames; i++) {
                if (PyUnicode_Compare(key, kw_interned[names[i]]) == 0) {
                    found = i;
                    break;
                }
            }
            if (PyErr_Occurred())
                return -1;
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", fname,
                         key);
            return -1;
        }
        if (out[names[found]] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         kw_names[names[found]]);
            return -1;
        }
        out[names[found]] = args[nargs + k];
    }
    return 0;
}

/* A view of a str's code units; -1 (raised) if it cannot be made ready. */
static int
text_view(PyObject *s, pdu_text *t)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0)
        return -1;
#endif
    t->data = PyUnicode_DATA(s);
    t->len = (size_t)PyUnicode_GET_LENGTH(s);
    t->width = PyUnicode_KIND(s);
    return 0;
}

static int
is_int(PyObject *o)
{
    return PyLong_Check(o) && !PyBool_Check(o);
}

/* An int in lo..hi, or None when allow_none; -2 with an error raised. */
static long
int_arg(PyObject *o, const char *name, long lo, long hi, int allow_none)
{
    if (o == NULL || (allow_none && o == Py_None))
        return -1;
    if (is_int(o)) {
        int overflow = 0;
        long v = PyLong_AsLongAndOverflow(o, &overflow);
        if (v == -1 && PyErr_Occurred())
            return -2;
        if (!overflow && v >= lo && v <= hi)
            return v;
    }
    arg_error(name, "must be an int in %ld..%ld, not %R", lo, hi, o);
    return -2;
}

static int
bool_arg(PyObject *o)
{
    return o == NULL ? 0 : PyObject_IsTrue(o);
}

/* national_languages: names or ids, in order of preference, duplicates
 * dropped. Returns how many, or -1 with PDUError raised. */
#define MAX_LANGS 8
static int
languages_arg(PyObject *o, int *langs)
{
    if (o == NULL || o == Py_None)
        return 0;
    if (PyTuple_Check(o) && PyTuple_GET_SIZE(o) == 0)
        return 0;
    PyObject *seq;
    if (PyUnicode_Check(o)) {
        seq = PyTuple_Pack(1, o); /* one name */
    } else {
        seq = PySequence_Fast(o, "");
        if (seq == NULL) {
            PyErr_Clear();
            arg_error("national_languages", "expected names or ids of languages, got %s",
                      Py_TYPE(o)->tp_name);
            return -1;
        }
    }
    if (seq == NULL)
        return -1;
    int n = 0;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        int id = -1;
        if (PyUnicode_Check(item)) {
            PyObject *low = PyObject_CallMethod(item, "lower", NULL);
            if (low == NULL) {
                Py_DECREF(seq);
                return -1;
            }
            for (int l = 1; l < PDU_LANG_COUNT && id < 0; l++)
                if (PyUnicode_Compare(low, str_language[l]) == 0)
                    id = l;
            Py_DECREF(low);
        } else if (is_int(item)) {
            long v = PyLong_AsLong(item);
            if (v == -1 && PyErr_Occurred())
                PyErr_Clear();
            else if (v >= 1 && v < PDU_LANG_COUNT)
                id = (int)v;
        }
        if (id < 0) {
            arg_error("national_languages",
                      "unknown language %R; supported: turkish (1), spanish (2), portuguese (3)",
                      item);
            Py_DECREF(seq);
            return -1;
        }
        int dup = 0;
        for (int k = 0; k < n; k++)
            dup |= langs[k] == id;
        if (!dup && n < MAX_LANGS)
            langs[n++] = id;
    }
    Py_DECREF(seq);
    return n;
}

/* encoding: "auto" / "gsm7" / "ucs2" / "8bit" -> PDU_AUTO / PDU_GSM7 / ... */
static int
encoding_arg(PyObject *o, int *enc)
{
    if (o == NULL) {
        *enc = PDU_AUTO;
        return 0;
    }
    if (PyUnicode_Check(o)) {
        if (PyUnicode_CompareWithASCIIString(o, "auto") == 0) {
            *enc = PDU_AUTO;
            return 0;
        }
        for (int e = 0; e < 3; e++) {
            if (PyUnicode_Compare(o, str_encoding[e]) == 0) {
                *enc = e;
                return 0;
            }
        }
    }
    arg_error("encoding", "must be one of auto, gsm7, ucs2, 8bit, not %R", o);
    return -1;
}

/* The text of a message: a str, or bytes-like for 8-bit data. Fills t
 * (and view, to be released, for a buffer) and settles *enc. */
static int
message_text(PyObject *o, int *enc, pdu_text *t, Py_buffer *view, int *have_view)
{
    *have_view = 0;
    if (o != NULL && PyUnicode_Check(o)) {
        if (*enc == PDU_8BIT) {
            arg_error("text", "8bit data must be bytes, not str");
            return -1;
        }
        return text_view(o, t);
    }
    if (o != NULL && PyObject_CheckBuffer(o)) {
        if (*enc != PDU_AUTO && *enc != PDU_8BIT) {
            arg_error("text", "bytes can only be sent as 8bit, not %U", str_encoding[*enc]);
            return -1;
        }
        if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0)
            return -1;
        *have_view = 1;
        *enc = PDU_8BIT;
        t->data = view->buf;
        t->len = (size_t)view->len;
        t->width = 1;
        return 0;
    }
    arg_error("text", "expected str, got %s", o ? Py_TYPE(o)->tp_name : "nothing");
    return -1;
}

static PyObject *
char_repr(const pdu_text *t, size_t i)
{
    PyObject *c = PyUnicode_FromOrdinal((int)pdu_text_at(t, i));
    if (c == NULL)
        return NULL;
    PyObject *r = PyObject_Repr(c);
    Py_DECREF(c);
    return r;
}

/* Raise the PDUError for a failed plan / address. */
static PyObject *
plan_error(const char *field, const pdu_text *t, PyObject *obj, const pdu_error *e)
{
    char hx[16];
    PyObject *ch = NULL;
    switch (e->code) {
    case PDU_E_UNENCODABLE:
        ch = char_repr(t, e->index);
        if (ch == NULL)
            return NULL;
        arg_error(field, "%scharacter %U (U+%s) at index %zu has no GSM 7-bit mapping",
                  strcmp(field, "text") == 0 ? "not encodable as gsm7: " : "", ch,
                  hex4(hx, sizeof hx, e->ch), e->index);
        Py_DECREF(ch);
        return NULL;
    case PDU_E_SURROGATE:
        return arg_error(field, "lone surrogate U+%s at index %zu cannot be sent",
                         hex4(hx, sizeof hx, e->ch), e->index);
    case PDU_E_NO_DIGITS:
        return arg_error(field, "no digits in %R", obj);
    case PDU_E_BAD_DIGIT:
        ch = char_repr(t, e->index);
        if (ch == NULL)
            return NULL;
        arg_error(field,
                  "invalid character %U at index %zu in %R; only digits, '*', '#' and a "
                  "leading '+' are allowed",
                  ch, e->index, obj);
        Py_DECREF(ch);
        return NULL;
    case PDU_E_TOO_LONG:
        if (e->value == PDU_MAX_ALNUM_SEPTETS)
            return arg_error(field, "%R: an alphanumeric address holds at most %d septets",
                             obj, PDU_MAX_ALNUM_SEPTETS);
        return arg_error(field, "%ld digits, at most %d fit in an address", e->value,
                         PDU_MAX_ADDR_DIGITS);
    default:
        return arg_error(field, "%s", e->msg);
    }
}

/* ======================================================== date/time */

static PyObject *
get_tz(int minutes)
{
    int q = minutes / 15;
    if (q < -79 || q > 79)
        return NULL;
    PyObject **slot = &tz_cache[q + 79];
    if (*slot == NULL) {
        PyObject *delta = PyDelta_FromDSU(0, minutes * 60, 0);
        if (delta == NULL)
            return NULL;
        *slot = PyTimeZone_FromOffset(delta);
        Py_DECREF(delta);
    }
    return *slot; /* borrowed */
}

static PyObject *
make_datetime(const pdu_time *t)
{
    PyObject *tz = get_tz(t->tz_minutes);
    if (tz == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "time zone out of range");
        return NULL;
    }
    return PyDateTimeAPI->DateTime_FromDateAndTime(t->year, t->month, t->day, t->hour, t->minute,
                                                   t->second, 0, tz, PyDateTimeAPI->DateTimeType);
}

/* An aware datetime to pdu_time, rounded up to the second when round_up;
 * offsets that 23.040 cannot express are converted to UTC. */
static int
time_arg(PyObject *o, const char *name, int round_up, pdu_time *t)
{
    if (o == NULL || !PyDateTime_Check(o)) {
        arg_error(name, "expected an aware datetime, got %s",
                  o ? Py_TYPE(o)->tp_name : "nothing");
        return -1;
    }
    PyObject *dt = Py_NewRef(o);
    if (round_up && PyDateTime_DATE_GET_MICROSECOND(dt) != 0) {
        PyObject *delta = PyDelta_FromDSU(0, 0, 1000000 - PyDateTime_DATE_GET_MICROSECOND(dt));
        PyObject *later = delta ? PyNumber_Add(dt, delta) : NULL;
        Py_XDECREF(delta);
        Py_DECREF(dt);
        if (later == NULL)
            return -1;
        dt = later;
    }
    PyObject *offset = PyObject_CallMethod(dt, "utcoffset", NULL);
    if (offset == NULL) {
        Py_DECREF(dt);
        return -1;
    }
    if (offset == Py_None) {
        Py_DECREF(offset);
        Py_DECREF(dt);
        arg_error(name, "datetime %R has no time zone (naive); give an aware one", o);
        return -1;
    }
    long seconds = (long)PyDateTime_DELTA_GET_DAYS(offset) * 86400 +
                   PyDateTime_DELTA_GET_SECONDS(offset);
    int exact = PyDateTime_DELTA_GET_MICROSECONDS(offset) == 0 && seconds % 900 == 0 &&
                seconds / 900 >= -79 && seconds / 900 <= 79;
    Py_DECREF(offset);
    if (!exact) {
        PyObject *utc = PyObject_CallMethod(dt, "astimezone", "O", PyDateTime_TimeZone_UTC);
        Py_DECREF(dt);
        if (utc == NULL)
            return -1;
        dt = utc;
        seconds = 0;
    }
    t->year = (uint16_t)PyDateTime_GET_YEAR(dt);
    t->month = (uint8_t)PyDateTime_GET_MONTH(dt);
    t->day = (uint8_t)PyDateTime_GET_DAY(dt);
    t->hour = (uint8_t)PyDateTime_DATE_GET_HOUR(dt);
    t->minute = (uint8_t)PyDateTime_DATE_GET_MINUTE(dt);
    t->second = (uint8_t)PyDateTime_DATE_GET_SECOND(dt);
    t->tz_minutes = (int16_t)(seconds / 60);
    if (PyDateTime_GET_YEAR(dt) < 1990 || PyDateTime_GET_YEAR(dt) > 2089) {
        arg_error(name, "year %d cannot be written: two-digit years cover 1990..2089",
                  PyDateTime_GET_YEAR(dt));
        Py_DECREF(dt);
        return -1;
    }
    Py_DECREF(dt);
    return 0;
}

/* ======================================================== decode */

/* A str from code points whose largest is max, written at its final width. */
static PyObject *
text_str(const uint32_t *cp, size_t n, uint32_t max)
{
    PyObject *s = PyUnicode_New((Py_ssize_t)n, (Py_UCS4)max);
    if (s == NULL)
        return NULL;
    switch (PyUnicode_KIND(s)) {
    case PyUnicode_1BYTE_KIND: {
        Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
        for (size_t i = 0; i < n; i++)
            d[i] = (Py_UCS1)cp[i];
        break;
    }
    case PyUnicode_2BYTE_KIND: {
        Py_UCS2 *d = PyUnicode_2BYTE_DATA(s);
        for (size_t i = 0; i < n; i++)
            d[i] = (Py_UCS2)cp[i];
        break;
    }
    default:
        memcpy(PyUnicode_4BYTE_DATA(s), cp, n * sizeof(Py_UCS4));
    }
    return s;
}

/* A str from n UTF-16BE units without surrogates whose OR is bound. */
static PyObject *
utf16_str(const uint8_t *b, size_t n, uint32_t bound)
{
    PyObject *s = PyUnicode_New((Py_ssize_t)n, (Py_UCS4)bound);
    if (s == NULL)
        return NULL;
    if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) {
        Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
        for (size_t i = 0; i < n; i++)
            d[i] = (Py_UCS1)pdu_load_be16(b + 2 * i);
    } else {
        Py_UCS2 *d = PyUnicode_2BYTE_DATA(s);
        for (size_t i = 0; i < n; i++)
            d[i] = pdu_load_be16(b + 2 * i);
    }
    return s;
}

static PyObject *
decoded_text(const pdu_message *m, const uint8_t *pdu)
{
    if (!m->has_text)
        return Py_NewRef(Py_None);
    if (m->text_utf16)
        return utf16_str(pdu + m->body_offset, m->n_text, m->text_max);
    return text_str(m->text, m->n_text, m->text_max);
}

static PyObject *
address_str(const pdu_address *a)
{
    uint32_t max = 0;
    for (size_t i = 0; i < a->len; i++)
        max = a->text[i] > max ? a->text[i] : max;
    return text_str(a->text, a->len, max);
}

static PyObject *
new_bool(int v)
{
    return Py_NewRef(v ? Py_True : Py_False);
}

static PyObject *
opt_int(int has, long v)
{
    return has ? PyLong_FromLong(v) : Py_NewRef(Py_None);
}

/* Store a new reference in a record slot; on NULL (an exception is set)
 * leave the function with -1 at once. The record keeps what was stored and
 * its dealloc releases it. */
#define PUT(slot, expr)                   \
    do {                                  \
        if (((slot) = (expr)) == NULL)    \
            return -1;                    \
    } while (0)

static PyObject *
concat_object(const pdu_message *m)
{
    Record *c = rec_alloc(T_CONCAT);
    if (c == NULL)
        return NULL;
    if ((c->f[0] = PyLong_FromUnsignedLong(m->concat_ref)) == NULL ||
        (c->f[1] = PyLong_FromUnsignedLong(m->concat_total)) == NULL ||
        (c->f[2] = PyLong_FromUnsignedLong(m->concat_seq)) == NULL) {
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

static PyObject *
mwi_object(const pdu_message *m)
{
    Record *w = rec_alloc(T_MWI);
    if (w == NULL)
        return NULL;
    w->f[0] = Py_NewRef(str_mwi_kind[m->mwi_kind & 3]);
    w->f[1] = new_bool(m->mwi_active);
    w->f[2] = new_bool(m->mwi != 0xC);
    return (PyObject *)w;
}

/* A time of the PDU, or the time of decoding (aware, UTC) where a lenient
 * parse could not read it: the caller gets a datetime either way, and the
 * repair note says which it is. */
static PyObject *
pdu_time_object(const pdu_message *m, int lost_bit, const pdu_time *t)
{
    if (!(m->times_lost & lost_bit))
        return make_datetime(t);
    return PyObject_CallMethod((PyObject *)PyDateTimeAPI->DateTimeType, "now", "O",
                               PyDateTime_TimeZone_UTC);
}

/* The repair notes as a tuple of str (the empty tuple, shared, when none). */
static PyObject *
repairs_tuple(const pdu_message *m)
{
    size_t n = m->n_repairs < PDU_MAX_REPAIRS ? m->n_repairs : PDU_MAX_REPAIRS;
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t != NULL && i < n; i++) {
        PyObject *note = PyUnicode_DecodeASCII(m->repairs[i], (Py_ssize_t)strlen(m->repairs[i]),
                                               "replace");
        if (note == NULL)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, (Py_ssize_t)i, note);
    }
    return t;
}

/* Fill a decoded record; returns 0 or -1 with an exception set. */
static int
fill_message(Record *r, int t, const pdu_message *m, const uint8_t *pdu)
{
    PyObject **f = r->f;
    PUT(f[0], m->has_smsc ? address_str(&m->smsc) : Py_NewRef(Py_None));
    PUT(f[1], address_str(&m->number));
    PUT(f[2], decoded_text(m, pdu));
    Pending *p = pending((PyObject *)r);
    if (m->has_ud && m->encoding == PDU_GSM7) {
        memcpy(p->data, m->septets, m->n_septets);
        p->data_len = (uint8_t)m->n_septets;
    } else if (m->has_ud) {
        memcpy(p->data, pdu + m->body_offset, m->body_len);
        p->data_len = (uint8_t)m->body_len;
    } else {
        p->data_len = 0;
    }
    f[4] = Py_NewRef(str_encoding[m->encoding]);
    PUT(f[5], m->has_concat ? concat_object(m) : Py_NewRef(Py_None));
    p->udh_len = 0;
    for (size_t i = 0; i < m->n_ies; i++) {
        /* the IEs came out of at most 140 octets of TP-UD as these same triples */
        const pdu_ie *ie = &m->ies[i];
        p->udh[p->udh_len] = (uint8_t)ie->iei;
        p->udh[p->udh_len + 1] = (uint8_t)ie->len;
        memcpy(p->udh + p->udh_len + 2, pdu + ie->offset, ie->len);
        p->udh_len = (uint8_t)(p->udh_len + 2 + ie->len);
    }
    PUT(f[7], opt_int(m->message_class >= 0, m->message_class));
    PUT(f[8], opt_int(m->has_pid, m->pid));
    PUT(f[9], opt_int(m->has_dcs, m->dcs));
    PUT(f[10], PyLong_FromLong(m->number.toa));
    PUT(f[11], m->mwi ? mwi_object(m) : Py_NewRef(Py_None));

    PUT(r->f[specs[t].n - 1], repairs_tuple(m));
    f = r->f + N_COMMON;
    uint8_t first = m->first;
    switch (t) {
    case T_DELIVER:
        PUT(f[0], pdu_time_object(m, PDU_LOST_SCTS, &m->scts));
        f[1] = new_bool(first & 0x80);
        f[2] = new_bool(first & 0x20);
        f[3] = new_bool(!(first & 0x04));
        break;
    case T_SUBMIT:
        PUT(f[0], PyLong_FromLong(m->reference));
        if (m->vp_kind == PDU_VP_RELATIVE)
            PUT(f[1], PyDelta_FromDSU(0, (int)m->vp_seconds, 0));
        else if (m->vp_kind == PDU_VP_ABSOLUTE)
            PUT(f[1], make_datetime(&m->vp_time));
        else
            f[1] = Py_NewRef(Py_None);
        f[2] = new_bool(first & 0x20);
        f[3] = new_bool(first & 0x04);
        f[4] = new_bool(first & 0x80);
        break;
    default:
        PUT(f[0], PyLong_FromLong(m->reference));
        PUT(f[1], PyLong_FromLong(m->status));
        PUT(f[2], pdu_time_object(m, PDU_LOST_SCTS, &m->scts));
        PUT(f[3], pdu_time_object(m, PDU_LOST_DISCHARGE, &m->discharge));
        break;
    }
    return 0;
}

static PyObject *
message_object(const pdu_message *m, const uint8_t *pdu)
{
    int t = m->mti == PDU_SUBMIT ? T_SUBMIT : m->mti == PDU_STATUS_REPORT ? T_STATUS : T_DELIVER;
    Record *r = rec_alloc(t);
    if (r == NULL)
        return NULL;
    if (fill_message(r, t, m, pdu) < 0) {
        Py_DECREF(r);
        return NULL;
    }
    return (PyObject *)r;
}

/* The octets of a PDU given as hex str or bytes-like; *pdu points into
 * small (or a PyMem buffer in *heap, or view). Returns 0 or -1 (raised). */
static int
pdu_octets(PyObject *obj, uint8_t *small, size_t small_size, uint8_t **heap, Py_buffer *view,
           int *have_view, const uint8_t **pdu, size_t *len)
{
    *heap = NULL;
    *have_view = 0;
    if (PyUnicode_Check(obj)) {
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(obj) < 0)
            return -1;
#endif
        size_t n = (size_t)PyUnicode_GET_LENGTH(obj);
        size_t bad = 0;
        int kind = PyUnicode_KIND(obj);
        const void *data = PyUnicode_DATA(obj);
        uint8_t *out = small;
        if (n / 2 > small_size) {
            *heap = PyMem_Malloc(n / 2);
            if (*heap == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            out = *heap;
        }
        int ok;
        if (PyUnicode_IS_ASCII(obj)) {
            ok = pdu_hex_decode((const char *)data, n, out, &bad) == 0;
        } else {
            ok = 0;
            for (bad = 0; bad < n; bad++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, (Py_ssize_t)bad);
                if (c > 127 || hex_value[c] < 0)
                    break;
            }
        }
        if (!ok) {
            if (bad >= n)
                raise_pdu_error(PyUnicode_FromFormat(
                                    "not hex: odd length %zu, the last digit has no partner", n),
                                (Py_ssize_t)(n / 2), "hex");
            else {
                PyObject *c = PyUnicode_Substring(obj, (Py_ssize_t)bad, (Py_ssize_t)bad + 1);
                if (c != NULL) {
                    raise_pdu_error(PyUnicode_FromFormat("not hex: character %R at character %zu",
                                                         c, bad),
                                    (Py_ssize_t)(bad / 2), "hex");
                    Py_DECREF(c);
                }
            }
            return -1;
        }
        *pdu = out;
        *len = n / 2;
        return 0;
    }
    if (PyBytes_Check(obj)) {
        *pdu = (const uint8_t *)PyBytes_AS_STRING(obj);
        *len = (size_t)PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
            return -1;
        *have_view = 1;
        *pdu = view->buf;
        *len = (size_t)view->len;
        return 0;
    }
    raise_pdu_error(PyUnicode_FromFormat("expected hex str or bytes, got %s",
                                         Py_TYPE(obj)->tp_name),
                    -1, "pdu");
    return -1;
}

PyDoc_STRVAR(decode_doc,
"decode(pdu, *, smsc=True, strict=True)\n--\n\n"
"Decode one PDU as read from the modem (AT+CMGR / +CMT / +CDS).\n\n"
"pdu is hex text (str, either case) or the raw octets (bytes-like).\n"
"smsc=False for a bare TPDU without the leading SMSC part (some modems'\n"
"+CDS). The TP-MTI picks the result type: Deliver, Submit or\n"
"StatusReport; the reserved value 3 is read as SMS-DELIVER, as 23.040\n"
"9.2.3.1 tells a receiver to. strict=True: the PDU must follow 23.040 to\n"
"the octet and end where its user data ends. strict=False, for what is\n"
"received: the faults networks and modems are known to produce are\n"
"repaired as the mature stacks repair them, and the result's repairs\n"
"field says what was. Raises only PDUError on input it cannot read; its\n"
"message and offset say which octet and why.");

static PyObject *
pdu_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    static const int names[] = {KW_PDU, KW_SMSC, KW_STRICT};
    PyObject *a[KW_COUNT] = {NULL};
    if (parse_args("decode", args, nargs, kwnames, names, 3, 1, a) < 0)
        return NULL;
    if (a[KW_PDU] == NULL) {
        PyErr_SetString(PyExc_TypeError, "decode() missing required argument 'pdu'");
        return NULL;
    }
    int with_smsc = a[KW_SMSC] ? PyObject_IsTrue(a[KW_SMSC]) : 1;
    if (with_smsc < 0)
        return NULL;
    int strict = a[KW_STRICT] ? PyObject_IsTrue(a[KW_STRICT]) : 1;
    if (strict < 0)
        return NULL;

    uint8_t small[256];
    uint8_t *heap;
    Py_buffer view;
    int have_view;
    const uint8_t *pdu;
    size_t len;
    if (pdu_octets(a[KW_PDU], small, sizeof small, &heap, &view, &have_view, &pdu, &len) < 0)
        return NULL;

    pdu_message m;
    pdu_error err;
    PyObject *out;
    int flags = (with_smsc ? PDU_WITH_SMSC : 0) | (strict ? 0 : PDU_LENIENT);
    if (pdu_parse(pdu, len, flags, &m, &err) < 0)
        out = raise_pdu_error(PyUnicode_FromString(err.msg), (Py_ssize_t)err.offset, err.field);
    else
        out = message_object(&m, pdu);
    if (have_view)
        PyBuffer_Release(&view);
    PyMem_Free(heap);
    return out;
}

/* ======================================================== encode */

static PyObject *
make_part(const uint8_t *smsc, size_t smsc_len, const uint8_t *tpdu, size_t tpdu_len)
{
    Record *p = rec_alloc(T_PART);
    if (p == NULL)
        return NULL;
    PyObject *hex = PyUnicode_New((Py_ssize_t)(2 * (smsc_len + tpdu_len)), 127);
    if (hex == NULL || (p->f[1] = PyLong_FromSize_t(tpdu_len)) == NULL) {
        Py_XDECREF(hex);
        Py_DECREF(p);
        return NULL;
    }
    char *dst = (char *)PyUnicode_1BYTE_DATA(hex);
    pdu_hex_encode(smsc, smsc_len, dst);
    pdu_hex_encode(tpdu, tpdu_len, dst + 2 * smsc_len);
    p->f[0] = hex;
    return (PyObject *)p;
}

/* The parts of a planned text as a list of Part. */
static PyObject *
build_parts(const pdu_header *h, const uint8_t *smsc, size_t smsc_len, const pdu_text *text,
            const pdu_plan *plan)
{
    int total = (int)plan->parts;
    PyObject *list = PyList_New(total);
    if (list == NULL)
        return NULL;
    for (int i = 0; i < total; i++) {
        uint8_t units[2 * PDU_MAX_UD_OCTETS + 8];
        uint8_t tpdu[PDU_MAX_TPDU];
        size_t n = pdu_part_units(text, plan, i, units);
        size_t tl = pdu_build_tpdu(h, i, total, plan->encoding, plan->locking, plan->single,
                                   plan->concat16, units, n, tpdu);
        if (tl == 0) { /* the plan guarantees a fit: a bug if reached */
            PyErr_SetString(PyExc_SystemError, "_pdu: a part does not fit its TPDU");
            Py_DECREF(list);
            return NULL;
        }
        PyObject *part = make_part(smsc, smsc_len, tpdu, tl);
        if (part == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, part);
    }
    return list;
}

static uint8_t
dcs_for(int encoding, long message_class)
{
    /* general data coding group (23.038 4): alphabet bits, class when given */
    uint8_t alphabet = encoding == PDU_GSM7 ? 0x00 : encoding == PDU_8BIT ? 0x04 : 0x08;
    return message_class < 0 ? alphabet : (uint8_t)(0x10 | alphabet | message_class);
}

/* Shared by encode_submit and encode_deliver. */
static PyObject *
encode_common(int mti, PyObject **a)
{
    const char *fname = mti == PDU_SUBMIT ? "encode_submit" : "encode_deliver";
    pdu_header h;
    pdu_error err;
    pdu_text number, text, smsc_text;
    uint8_t smsc[PDU_MAX_SMSC_PART];
    size_t smsc_len;
    int enc, langs[MAX_LANGS], nlangs;
    Py_buffer view;
    int have_view = 0;
    PyObject *out = NULL;

    if (a[KW_NUMBER] == NULL || a[KW_TEXT] == NULL) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname,
                     a[KW_NUMBER] == NULL ? "number" : "text");
        return NULL;
    }
    memset(&h, 0, sizeof h);
    h.mti = mti;

    /* the addresses */
    if (!PyUnicode_Check(a[KW_NUMBER]))
        return arg_error("number", "expected str, got %s", Py_TYPE(a[KW_NUMBER])->tp_name);
    if (text_view(a[KW_NUMBER], &number) < 0)
        return NULL;
    if (pdu_encode_address(&number, mti == PDU_DELIVER, h.address, &h.address_len, &err) < 0)
        return plan_error("number", &number, a[KW_NUMBER], &err);
    PyObject *smsc_obj = a[KW_SMSC];
    if (smsc_obj != NULL && smsc_obj != Py_None) {
        if (!PyUnicode_Check(smsc_obj))
            return arg_error("smsc", "expected str or None, got %s", Py_TYPE(smsc_obj)->tp_name);
        if (text_view(smsc_obj, &smsc_text) < 0)
            return NULL;
        if (pdu_encode_smsc(&smsc_text, smsc, &smsc_len, &err) < 0)
            return plan_error("smsc", &smsc_text, smsc_obj, &err);
    } else {
        pdu_encode_smsc(NULL, smsc, &smsc_len, &err);
    }

    /* the options */
    long reference = 0, concat_reference, message_class;
    if (mti == PDU_SUBMIT) {
        reference = int_arg(a[KW_REFERENCE], "reference", 0, 255, 0);
        if (reference == -2)
            return NULL;
        if (reference < 0)
            reference = 0;
    }
    concat_reference = int_arg(a[KW_CONCAT_REFERENCE], "concat_reference", 0, 65535, 1);
    if (concat_reference == -2)
        return NULL;
    message_class = int_arg(a[KW_MESSAGE_CLASS], "message_class", 0, 3, 1);
    if (message_class == -2)
        return NULL;
    if (encoding_arg(a[KW_ENCODING], &enc) < 0)
        return NULL;
    if ((nlangs = languages_arg(a[KW_NATIONAL_LANGUAGES], langs)) < 0)
        return NULL;

    if (mti == PDU_SUBMIT) {
        int status_report = bool_arg(a[KW_STATUS_REPORT]);
        int reject = bool_arg(a[KW_REJECT_DUPLICATES]);
        if (status_report < 0 || reject < 0)
            return NULL;
        h.first = PDU_SUBMIT | (reject ? 0x04 : 0) | (status_report ? 0x20 : 0);
        h.reference = (uint8_t)reference;
        PyObject *v = a[KW_VALIDITY];
        if (v != NULL && v != Py_None) {
            if (PyDelta_Check(v)) {
                long long days = PyDateTime_DELTA_GET_DAYS(v);
                long long secs = days * 86400LL + PyDateTime_DELTA_GET_SECONDS(v);
                int us = PyDateTime_DELTA_GET_MICROSECONDS(v);
                if (days < 0)
                    return arg_error("validity", "negative period %S", v);
                h.vp[0] = pdu_relative_vp(secs, us != 0);
                h.vp_len = 1;
                h.first |= 0x10; /* TP-VPF: relative */
            } else if (PyDateTime_Check(v)) {
                pdu_time vt;
                if (time_arg(v, "validity", 1, &vt) < 0)
                    return NULL;
                if (pdu_encode_time(&vt, h.vp, &err) < 0)
                    return arg_error("validity", "%s", err.msg);
                h.vp_len = 7;
                h.first |= 0x18; /* TP-VPF: absolute */
            } else {
                return arg_error("validity", "expected timedelta, datetime or None, got %s",
                                 Py_TYPE(v)->tp_name);
            }
        }
    } else {
        pdu_time ts;
        if (a[KW_TIMESTAMP] == NULL) {
            PyErr_SetString(PyExc_TypeError,
                            "encode_deliver() missing required keyword argument 'timestamp'");
            return NULL;
        }
        if (time_arg(a[KW_TIMESTAMP], "timestamp", 0, &ts) < 0)
            return NULL;
        if (pdu_encode_time(&ts, h.scts, &err) < 0)
            return arg_error("timestamp", "%s", err.msg);
        h.first = PDU_DELIVER | 0x04; /* TP-MMS: no more messages waiting */
    }

    /* the text, planned */
    if (message_text(a[KW_TEXT], &enc, &text, &view, &have_view) < 0)
        return NULL;
    pdu_plan plan_storage, *plan = &plan_storage;
    int concat16 = concat_reference > 255;
    h.concat_ref = (unsigned)(concat_reference >= 0 ? concat_reference
                                                     : mti == PDU_SUBMIT ? reference : 0);
    if (pdu_plan_text(&text, enc, langs, (size_t)nlangs, concat16, plan, &err) < 0) {
        plan_error("text", &text, a[KW_TEXT], &err);
        goto done;
    }
    if (plan->parts > PDU_MAX_PARTS) {
        arg_error("text", "needs %ld parts, at most %d can be concatenated", plan->parts,
                  PDU_MAX_PARTS);
        goto done;
    }
    h.dcs = dcs_for(plan->encoding, message_class);
    h.pid = 0x00; /* plain short message */
    out = build_parts(&h, smsc, smsc_len, &text, plan);
done:
    if (have_view)
        PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(encode_submit_doc,
"encode_submit(number, text, *, smsc=None, encoding='auto', status_report=False, "
"validity=None, reference=0, concat_reference=None, message_class=None, "
"reject_duplicates=False, national_languages=())\n--\n\n"
"Encode text to number as one or more SMS-SUBMIT PDUs: a list of Part.\n\n"
"number: '+' and digits (international) or digits, * and #.\n"
"encoding: 'auto' sends the GSM 7-bit default alphabet when every\n"
"character has a place in it, else the national language shift tables\n"
"(national_languages: 'turkish', 'spanish', 'portuguese' or their ids\n"
"1, 2, 3, in order of preference) that give the fewest parts, else UCS2;\n"
"'gsm7' never falls back to UCS2 (PDUError instead); 'ucs2' forces UTF-16;\n"
"'8bit' (or bytes as text) sends octets.\n"
"A long text is cut into concatenated parts (153 septets / 67 UTF-16\n"
"units / 134 octets each, fewer with shift table IEs) without splitting\n"
"an escape sequence or a surrogate pair; the UDH reference is\n"
"concat_reference (16-bit IEI 0x08 when above 255) or reference & 0xFF.\n"
"Part i gets TP-MR reference + i (mod 256): with reject_duplicates the\n"
"SMSC would otherwise reject part 2 as a duplicate of part 1.\n"
"validity: a timedelta (relative format, rounded up to the next step,\n"
"5 minutes .. 63 weeks) or an aware datetime (absolute format); None\n"
"omits it. status_report sets TP-SRR; message_class 0..3 (0 = flash).\n"
"Invalid arguments raise PDUError naming the argument.");

static PyObject *
pdu_encode_submit(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    static const int names[] = {KW_NUMBER, KW_TEXT, KW_SMSC, KW_ENCODING, KW_STATUS_REPORT,
                                KW_VALIDITY, KW_REFERENCE, KW_CONCAT_REFERENCE,
                                KW_MESSAGE_CLASS, KW_REJECT_DUPLICATES,
                                KW_NATIONAL_LANGUAGES};
    PyObject *a[KW_COUNT] = {NULL};
    if (parse_args("encode_submit", args, nargs, kwnames, names,
                   (int)(sizeof names / sizeof names[0]), 2, a) < 0)
        return NULL;
    return encode_common(PDU_SUBMIT, a);
}

PyDoc_STRVAR(encode_deliver_doc,
"encode_deliver(number, text, *, smsc=None, timestamp, encoding='auto', "
"concat_reference=None, message_class=None, national_languages=())\n--\n\n"
"Encode text from number as one or more SMS-DELIVER PDUs (for the simulated\n"
"modem and for tests): a list of Part, tpdu_length as for encode_submit.\n\n"
"number may also be an alphanumeric sender (up to 11 septets of the GSM\n"
"default alphabet), written as TON 101. timestamp (TP-SCTS) is an aware\n"
"datetime, 1990..2089; an offset that is not whole quarter hours is\n"
"written as UTC. concat_reference defaults to 0. The other arguments are\n"
"as for encode_submit.");

static PyObject *
pdu_encode_deliver(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    static const int names[] = {KW_NUMBER, KW_TEXT, KW_SMSC, KW_TIMESTAMP, KW_ENCODING,
                                KW_CONCAT_REFERENCE, KW_MESSAGE_CLASS,
                                KW_NATIONAL_LANGUAGES};
    PyObject *a[KW_COUNT] = {NULL};
    if (parse_args("encode_deliver", args, nargs, kwnames, names,
                   (int)(sizeof names / sizeof names[0]), 2, a) < 0)
        return NULL;
    return encode_common(PDU_DELIVER, a);
}

PyDoc_STRVAR(count_doc,
"count(text, *, encoding='auto', national_languages=())\n--\n\n"
"How many SMS text needs, and how much room is left in the last one: a\n"
"Count. Uses the same choices and cutting rules as encode_submit (with an\n"
"8-bit concatenation reference), so the count shown to a user is the\n"
"number that will be sent. Does not refuse texts of more than 255 parts.");

static PyObject *
pdu_count(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    static const int names[] = {KW_TEXT, KW_ENCODING, KW_NATIONAL_LANGUAGES};
    PyObject *a[KW_COUNT] = {NULL};
    int enc, langs[MAX_LANGS], nlangs, have_view;
    pdu_text text;
    pdu_error err;
    Py_buffer view;
    if (parse_args("count", args, nargs, kwnames, names, 3, 1, a) < 0)
        return NULL;
    if (a[KW_TEXT] == NULL) {
        PyErr_SetString(PyExc_TypeError, "count() missing required argument 'text'");
        return NULL;
    }
    if (encoding_arg(a[KW_ENCODING], &enc) < 0)
        return NULL;
    if ((nlangs = languages_arg(a[KW_NATIONAL_LANGUAGES], langs)) < 0)
        return NULL;
    if (message_text(a[KW_TEXT], &enc, &text, &view, &have_view) < 0)
        return NULL;
    PyObject *out = NULL;
    pdu_plan plan_storage, *plan = &plan_storage;
    if (pdu_plan_text(&text, enc, langs, (size_t)nlangs, 0, plan, &err) < 0) {
        plan_error("text", &text, a[KW_TEXT], &err);
        goto done;
    }
    Record *c = rec_alloc(T_COUNT);
    if (c == NULL)
        goto done;
    c->f[1] = Py_NewRef(str_encoding[plan->encoding]);
    c->f[4] = Py_NewRef(plan->locking ? str_language[plan->locking] : Py_None);
    c->f[5] = Py_NewRef(plan->single ? str_language[plan->single] : Py_None);
    if ((c->f[0] = PyLong_FromLong(plan->parts)) == NULL ||
        (c->f[2] = PyLong_FromSize_t(plan->per_part)) == NULL ||
        (c->f[3] = PyLong_FromSize_t(plan->per_part - plan->last_units)) == NULL) {
        Py_DECREF(c);
        goto done;
    }
    out = (PyObject *)c;
done:
    if (have_view)
        PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(build_parts_doc,
"build_parts(mti, first, reference, address, pid, dcs, vp_or_scts, smsc, encoding, "
"locking, single, concat_reference, concat16, chunks, /)\n--\n\n"
"Parts from a plan made elsewhere (tests/pdu_policy.py): chunks are the\n"
"units of each part - septet values (gsm7), UTF-16-BE octets (ucs2) or\n"
"octets (8bit); address, vp_or_scts and smsc are encoded fields. The\n"
"mechanism under encode_submit / encode_deliver, exposed for the tests\n"
"that hold the C policy equal to the Python one.");

static PyObject *
pdu_build_parts(PyObject *module, PyObject *args)
{
    (void)module;
    int mti, first, reference, pid, dcs, locking, single, concat_ref, concat16;
    const char *enc_name;
    Py_buffer address, vp, smsc;
    PyObject *chunks;
    if (!PyArg_ParseTuple(args, "iiiy*iiy*y*siiipO!:build_parts", &mti, &first, &reference,
                          &address, &pid, &dcs, &vp, &smsc, &enc_name, &locking, &single,
                          &concat_ref, &concat16, &PyList_Type, &chunks))
        return NULL;
    PyObject *out = NULL;
    pdu_header h;
    memset(&h, 0, sizeof h);
    int enc = strcmp(enc_name, "gsm7") == 0 ? PDU_GSM7
              : strcmp(enc_name, "ucs2") == 0 ? PDU_UCS2
              : strcmp(enc_name, "8bit") == 0 ? PDU_8BIT : -1;
    Py_ssize_t total = PyList_GET_SIZE(chunks);
    if (enc < 0 || (mti != PDU_SUBMIT && mti != PDU_DELIVER) ||
        (size_t)address.len > sizeof h.address || (size_t)vp.len > sizeof h.vp ||
        (mti == PDU_DELIVER && vp.len != 7) || smsc.len > PDU_MAX_SMSC_PART || total < 1 ||
        total > PDU_MAX_PARTS || locking < 0 || locking >= PDU_LANG_COUNT || single < 0 ||
        single >= PDU_LANG_COUNT) {
        PyErr_SetString(PyExc_ValueError, "build_parts: argument out of range");
        goto done;
    }
    h.mti = mti;
    h.first = (uint8_t)first;
    h.reference = (uint8_t)reference;
    memcpy(h.address, address.buf, (size_t)address.len);
    h.address_len = (size_t)address.len;
    h.pid = (uint8_t)pid;
    h.dcs = (uint8_t)dcs;
    if (mti == PDU_SUBMIT) {
        memcpy(h.vp, vp.buf, (size_t)vp.len);
        h.vp_len = (size_t)vp.len;
    } else {
        memcpy(h.scts, vp.buf, 7);
    }
    h.concat_ref = (unsigned)concat_ref;
    out = PyList_New(total);
    if (out == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < total; i++) {
        PyObject *chunk = PyList_GET_ITEM(chunks, i);
        uint8_t tpdu[PDU_MAX_TPDU];
        if (!PyBytes_Check(chunk)) {
            PyErr_SetString(PyExc_TypeError, "build_parts: chunks must be bytes");
            Py_CLEAR(out);
            goto done;
        }
        const uint8_t *units = (const uint8_t *)PyBytes_AS_STRING(chunk);
        size_t n = (size_t)PyBytes_GET_SIZE(chunk);
        if (enc == PDU_GSM7) {
            for (size_t k = 0; k < n; k++) {
                if (units[k] > 0x7F) {
                    PyErr_SetString(PyExc_ValueError, "build_parts: septet above 0x7F");
                    Py_CLEAR(out);
                    goto done;
                }
            }
        }
        size_t tl = n > 2 * PDU_MAX_UD_OCTETS ? 0
                    : pdu_build_tpdu(&h, (int)i, (int)total, enc, locking, single, concat16,
                                     units, n, tpdu);
        if (tl == 0) {
            PyErr_Format(PyExc_ValueError, "build_parts: chunk %zd does not fit one part", i);
            Py_CLEAR(out);
            goto done;
        }
        PyObject *part = make_part(smsc.buf, (size_t)smsc.len, tpdu, tl);
        if (part == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, part);
    }
done:
    PyBuffer_Release(&address);
    PyBuffer_Release(&vp);
    PyBuffer_Release(&smsc);
    return out;
}

/* ================================================ the bit primitives */

PyDoc_STRVAR(hex_encode_doc,
"hex_encode(data, /) -> str\n\n"
"Upper-case hex of a bytes-like object (the form AT+CMGS expects).");

static PyObject *
pdu_hex_encode_py(PyObject *module, PyObject *arg)
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
    if (out != NULL)
        pdu_hex_encode(view.buf, (size_t)view.len, (char *)PyUnicode_1BYTE_DATA(out));
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(hex_decode_doc,
"hex_decode(text, /) -> bytes\n\n"
"Bytes from hex given as str or a bytes-like object (either case).\n"
"ValueError names the offending character offset on odd length or a\n"
"non-hex character; no whitespace is tolerated.");

static PyObject *
hex_error(size_t bad, size_t n, unsigned value, int is_str)
{
    char hx[16];
    if (bad >= n)
        return PyErr_Format(PyExc_ValueError,
                            "odd hex length %zu: the digit at offset %zu has no partner", n,
                            n - 1);
    if (is_str)
        return PyErr_Format(PyExc_ValueError, "non-hex character U+%s at offset %zu",
                            hex4(hx, sizeof hx, value), bad);
    PyOS_snprintf(hx, sizeof hx, "%02X", value);
    return PyErr_Format(PyExc_ValueError, "non-hex byte 0x%s at offset %zu", hx, bad);
}

static PyObject *
pdu_hex_decode_py(PyObject *module, PyObject *arg)
{
    (void)module;
    if (PyUnicode_Check(arg)) {
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(arg) < 0)
            return NULL;
#endif
        size_t n = (size_t)PyUnicode_GET_LENGTH(arg);
        int kind = PyUnicode_KIND(arg);
        const void *data = PyUnicode_DATA(arg);
        for (size_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, (Py_ssize_t)i);
            if (c > 127 || hex_value[c] < 0)
                return hex_error(i, n, c, 1);
        }
        if (n % 2)
            return hex_error(n, n, 0, 1);
        PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n / 2));
        size_t bad;
        if (out != NULL)
            pdu_hex_decode((const char *)data, n, (uint8_t *)PyBytes_AS_STRING(out), &bad);
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
    size_t n = (size_t)view.len, bad = 0;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n / 2));
    if (out != NULL && pdu_hex_decode(view.buf, n, (uint8_t *)PyBytes_AS_STRING(out), &bad) < 0) {
        Py_CLEAR(out);
        hex_error(bad, n, bad < n ? ((const uint8_t *)view.buf)[bad] : 0, 0);
    }
    PyBuffer_Release(&view);
    return out;
}

static int
table_args(int locking, int single)
{
    if (locking < 0 || locking >= PDU_LANG_COUNT || single < 0 || single >= PDU_LANG_COUNT ||
        (locking && !pdu_has_locking(locking))) {
        PyErr_Format(PyExc_ValueError, "no such shift tables: locking %d, single %d", locking,
                     single);
        return -1;
    }
    return 0;
}

static int
check_str(PyObject *arg, const char *fname)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() expects str, not %.100s", fname,
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(gsm7_encode_doc,
"gsm7_encode(text, locking=0, single=0) -> bytes\n\n"
"Septet values (one per byte, 0..127) for text in the GSM 7-bit alphabet\n"
"with the given national language locking / single shift tables (0 =\n"
"default); single shift characters become 0x1B + code (two septets).\n"
"ValueError names the first character with no mapping and its index.");

static PyObject *
pdu_gsm7_encode_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"text", "locking", "single", NULL};
    PyObject *arg;
    int locking = 0, single = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ii:gsm7_encode", kwlist, &arg, &locking,
                                     &single))
        return NULL;
    if (check_str(arg, "gsm7_encode") < 0 || table_args(locking, single) < 0)
        return NULL;
    pdu_text t;
    if (text_view(arg, &t) < 0)
        return NULL;
    size_t size = 0;
    for (size_t i = 0; i < t.len; i++) {
        int code = pdu_gsm7_lookup(pdu_text_at(&t, i), locking, single);
        if (code < 0) {
            char hx[16];
            PyObject *c = char_repr(&t, i);
            if (c == NULL)
                return NULL;
            PyErr_Format(PyExc_ValueError, "character %U (U+%s) at index %zu has no GSM 7-bit mapping",
                         c, hex4(hx, sizeof hx, pdu_text_at(&t, i)), i);
            Py_DECREF(c);
            return NULL;
        }
        size += (code & 0x100) ? 2 : 1;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (out == NULL)
        return NULL;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    size_t j = 0;
    for (size_t i = 0; i < t.len; i++) {
        int code = pdu_gsm7_lookup(pdu_text_at(&t, i), locking, single);
        if (code & 0x100)
            dst[j++] = PDU_ESC;
        dst[j++] = (uint8_t)(code & 0x7F);
    }
    return out;
}

PyDoc_STRVAR(gsm7_encodable_doc,
"gsm7_encodable(text, locking=0, single=0) -> bool\n\n"
"True if every character of text has a place in the GSM 7-bit alphabet\n"
"with those shift tables (no allocation; used to pick the encoding).");

static PyObject *
pdu_gsm7_encodable_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"text", "locking", "single", NULL};
    PyObject *arg;
    int locking = 0, single = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ii:gsm7_encodable", kwlist, &arg,
                                     &locking, &single))
        return NULL;
    if (check_str(arg, "gsm7_encodable") < 0 || table_args(locking, single) < 0)
        return NULL;
    pdu_text t;
    if (text_view(arg, &t) < 0)
        return NULL;
    for (size_t i = 0; i < t.len; i++)
        if (pdu_gsm7_lookup(pdu_text_at(&t, i), locking, single) < 0)
            Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(gsm7_decode_doc,
"gsm7_decode(septets, locking=0, single=0) -> str\n\n"
"Text from septet values (one per byte). Extension codes with no\n"
"character show as the locking-table character of the same value,\n"
"0x1B 0x1B and a lone trailing 0x1B as a space (23.038 6.2.1.1).\n"
"ValueError if a value is above 0x7F.");

static PyObject *
pdu_gsm7_decode_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"septets", "locking", "single", NULL};
    Py_buffer view;
    int locking = 0, single = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|ii:gsm7_decode", kwlist, &view, &locking,
                                     &single))
        return NULL;
    PyObject *out = NULL;
    uint32_t *buf = NULL;
    const uint8_t *src = view.buf;
    size_t n = (size_t)view.len;
    if (locking < 0 || locking >= PDU_LANG_COUNT || single < 0 || single >= PDU_LANG_COUNT) {
        PyErr_Format(PyExc_ValueError, "no such shift tables: locking %d, single %d", locking,
                     single);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (src[i] > 0x7F) {
            char hx[16];
            PyOS_snprintf(hx, sizeof hx, "%02X", src[i]);
            PyErr_Format(PyExc_ValueError, "septet value 0x%s at index %zu is not 7-bit", hx, i);
            goto done;
        }
    }
    if (n > (size_t)PY_SSIZE_T_MAX / sizeof(uint32_t)) {
        PyErr_NoMemory();
        goto done;
    }
    buf = PyMem_Malloc(n ? n * sizeof(uint32_t) : 1);
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t j = pdu_gsm7_decode(src, n, locking, single, buf);
    out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, (Py_ssize_t)j);
done:
    PyMem_Free(buf);
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(pack7_doc,
"pack7(septets, fill_bits=0) -> bytes\n\n"
"Pack septet values (one per byte, 0..127) into octets, least significant\n"
"bit first, after fill_bits (0..6) zero bits. The fill bits let the first\n"
"septet start on a septet boundary after a user data header.");

static PyObject *
pdu_pack7_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"septets", "fill_bits", NULL};
    Py_buffer view;
    int fill = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|i:pack7", kwlist, &view, &fill))
        return NULL;
    PyObject *out = NULL;
    const uint8_t *src = view.buf;
    size_t n = (size_t)view.len;
    if (fill < 0 || fill > 6) {
        PyErr_Format(PyExc_ValueError, "fill_bits must be 0..6, not %d", fill);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (src[i] > 0x7F) {
            char hx[16];
            PyOS_snprintf(hx, sizeof hx, "%02X", src[i]);
            PyErr_Format(PyExc_ValueError, "septet value 0x%s at index %zu is not 7-bit", hx, i);
            goto done;
        }
    }
    if (n > ((size_t)PY_SSIZE_T_MAX - 14) / 7) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)pdu_packed_len(n, (unsigned)fill));
    if (out != NULL)
        pdu_pack7(src, n, (unsigned)fill, (uint8_t *)PyBytes_AS_STRING(out));
done:
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(unpack7_doc,
"unpack7(data, count, fill_bits=0) -> bytes\n\n"
"The first count septets packed in data after fill_bits (0..6) bits, one\n"
"septet value per byte. ValueError if data is too short for count.");

static PyObject *
pdu_unpack7_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"data", "count", "fill_bits", NULL};
    Py_buffer view;
    Py_ssize_t count;
    int fill = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*n|i:unpack7", kwlist, &view, &count,
                                     &fill))
        return NULL;
    PyObject *out = NULL;
    if (fill < 0 || fill > 6) {
        PyErr_Format(PyExc_ValueError, "fill_bits must be 0..6, not %d", fill);
        goto done;
    }
    if (count < 0) {
        PyErr_Format(PyExc_ValueError, "count must be >= 0, not %zd", count);
        goto done;
    }
    if ((size_t)count > ((size_t)PY_SSIZE_T_MAX - 14) / 7) {
        PyErr_Format(PyExc_ValueError, "count %zd is too large", count);
        goto done;
    }
    size_t need = pdu_packed_len((size_t)count, (unsigned)fill);
    if (need > (size_t)view.len) {
        PyErr_Format(PyExc_ValueError,
                     "%zd septets after %d fill bits need %zu octets, only %zd given", count,
                     fill, need, view.len);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count);
    if (out != NULL)
        pdu_unpack7(view.buf, (size_t)view.len, (size_t)count, (unsigned)fill,
                    (uint8_t *)PyBytes_AS_STRING(out));
done:
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(init_doc,
"_init(error_class, /)\n--\n\n"
"Register appliance.pdu.PDUError as the exception for malformed input.");

static PyObject *
pdu_init(PyObject *module, PyObject *cls)
{
    (void)module;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls,
                                                (PyTypeObject *)PyExc_ValueError)) {
        PyErr_SetString(PyExc_TypeError, "_init() expects a ValueError subclass");
        return NULL;
    }
    Py_XSETREF(PDUError, Py_NewRef(cls));
    Py_RETURN_NONE;
}

/* ============================================================ module */

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)
#define CFN(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef pdu_methods[] = {
    {"decode", CFN(pdu_decode), FASTKW, decode_doc},
    {"encode_submit", CFN(pdu_encode_submit), FASTKW, encode_submit_doc},
    {"encode_deliver", CFN(pdu_encode_deliver), FASTKW, encode_deliver_doc},
    {"count", CFN(pdu_count), FASTKW, count_doc},
    {"build_parts", pdu_build_parts, METH_VARARGS, build_parts_doc},
    {"hex_encode", pdu_hex_encode_py, METH_O, hex_encode_doc},
    {"hex_decode", pdu_hex_decode_py, METH_O, hex_decode_doc},
    {"gsm7_encode", CFN(pdu_gsm7_encode_py), METH_VARARGS | METH_KEYWORDS, gsm7_encode_doc},
    {"gsm7_encodable", CFN(pdu_gsm7_encodable_py), METH_VARARGS | METH_KEYWORDS,
     gsm7_encodable_doc},
    {"gsm7_decode", CFN(pdu_gsm7_decode_py), METH_VARARGS | METH_KEYWORDS, gsm7_decode_doc},
    {"pack7", CFN(pdu_pack7_py), METH_VARARGS | METH_KEYWORDS, pack7_doc},
    {"unpack7", CFN(pdu_unpack7_py), METH_VARARGS | METH_KEYWORDS, unpack7_doc},
    {"_init", pdu_init, METH_O, init_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"The SMS PDU codec in C (3GPP TS 23.040 / 23.038): pdu_core.c does the bit\n"
"work, this module builds the Python objects. Use appliance.pdu, which\n"
"re-exports what is public here.");

static struct PyModuleDef pdu_module = {
    PyModuleDef_HEAD_INIT, "appliance.pdu._pdu", module_doc, -1, pdu_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__pdu(void)
{
    static const char *const encodings[3] = {"gsm7", "8bit", "ucs2"}; /* PDU_GSM7.. order */
    static const char *const kinds[4] = {"voicemail", "fax", "email", "other"};
    static const char *const languages[PDU_LANG_COUNT] = {"default", "turkish", "spanish",
                                                          "portuguese"};
    pdu_core_init();
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    for (int i = 0; i < 3; i++)
        if ((str_encoding[i] = PyUnicode_InternFromString(encodings[i])) == NULL)
            return NULL;
    for (int i = 0; i < 4; i++)
        if ((str_mwi_kind[i] = PyUnicode_InternFromString(kinds[i])) == NULL)
            return NULL;
    for (int i = 0; i < PDU_LANG_COUNT; i++)
        if ((str_language[i] = PyUnicode_InternFromString(languages[i])) == NULL)
            return NULL;
    for (int i = 0; i < KW_COUNT; i++)
        if ((kw_interned[i] = PyUnicode_InternFromString(kw_names[i])) == NULL)
            return NULL;

    PyObject *m = PyModule_Create(&pdu_module);
    if (m == NULL)
        return NULL;
    if (make_types(m) < 0)
        goto fail;
    PyObject *lang = Py_BuildValue("{s:i,s:i,s:i}", "turkish", PDU_LANG_TURKISH, "spanish",
                                   PDU_LANG_SPANISH, "portuguese", PDU_LANG_PORTUGUESE);
    if (lang == NULL || PyModule_AddObject(m, "LANGUAGES", lang) < 0) {
        Py_XDECREF(lang);
        goto fail;
    }
    PyObject *locking = Py_BuildValue("(ii)", PDU_LANG_TURKISH, PDU_LANG_PORTUGUESE);
    if (locking == NULL || PyModule_AddObject(m, "LOCKING_SHIFT_LANGUAGES", locking) < 0) {
        Py_XDECREF(locking);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
