/* The optional compiled twin of natskv.protocol._parser.Parser (hiredis-style).
 *
 * Same interface, same events, same ProtocolError messages as the pure parser; the
 * pure one stays the reference and tests/unit feeds both the same streams.
 *
 * What makes it faster than the pure loop is mostly the Msg objects: they are the
 * pure-Python natskv.protocol._events.Msg class (so `type(ev) is Msg` holds and the
 * lazy header properties stay in one place), but allocated directly and their six
 * slots written at the offsets the class's member descriptors give, instead of
 * running Msg.__init__ in the interpreter. If the class ever stops being a plain
 * slotted class, the module falls back to calling it.
 *
 * Control lines other than MSG and HMSG (INFO, -ERR, PING, PONG, +OK) are rare and
 * go to the pure parser's own _control_event(), so they cannot drift apart.
 *
 * A payload that spans reads is copied once, into bytes objects allocated when its
 * control line is parsed, rather than gathered in chunks and joined.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#ifndef Py_T_OBJECT_EX /* Python < 3.12 */
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif
#ifndef Py_READONLY
#define Py_READONLY READONLY
#endif

#define DEFAULT_MAX_CONTROL_LINE 4096
#define DEFAULT_MAX_PAYLOAD (64 * 1024 * 1024)
/* Limits are clamped so that limit + a few never overflows. */
#define LIMIT_MAX (PY_SSIZE_T_MAX / 2)

/* ------------------------------------------------------------------ module state */

static PyTypeObject *MsgType;    /* natskv.protocol._events.Msg */
static PyObject *ProtocolError;  /* natskv.errors.ProtocolError */
static PyObject *control_event;  /* natskv.protocol._parser._control_event */
/* Offsets of Msg's slots, or fast_msg = 0 to call Msg(...) instead. */
static int fast_msg;
static Py_ssize_t off_subject, off_sid, off_reply, off_data, off_raw_headers, off_parsed;

/* ------------------------------------------------------------------ parser object */

typedef struct {
    PyObject_HEAD
    Py_ssize_t maxline;
    Py_ssize_t maxpayload;
    PyObject *maxline_obj;
    PyObject *maxpayload_obj;
    /* A partial control line kept from the previous read. */
    char *line;
    Py_ssize_t line_len;
    Py_ssize_t line_cap;
    /* A message whose control line is parsed but whose payload is incomplete. */
    int in_payload;
    PyObject *p_subject;
    PyObject *p_sid;
    PyObject *p_reply;   /* a str or None */
    PyObject *p_hdr;     /* bytes of hlen, or NULL for MSG */
    PyObject *p_data;    /* bytes of size - hlen */
    Py_ssize_t p_hlen;   /* 0 for MSG */
    Py_ssize_t p_size;
    Py_ssize_t p_have;
    char p_trail[2];
    int p_trail_have;
} ParserObject;

static void
clear_payload(ParserObject *self)
{
    self->in_payload = 0;
    Py_CLEAR(self->p_subject);
    Py_CLEAR(self->p_sid);
    Py_CLEAR(self->p_reply);
    Py_CLEAR(self->p_hdr);
    Py_CLEAR(self->p_data);
    self->p_hlen = self->p_size = self->p_have = 0;
    self->p_trail_have = 0;
}

static int
set_limit(PyObject *value, PyObject **obj, Py_ssize_t *limit, const char *name)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete %s", name);
        return -1;
    }
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int", name);
        return -1;
    }
    /* Clamped, not rejected: a limit beyond any real size means "no limit". */
    Py_ssize_t v = PyNumber_AsSsize_t(value, NULL);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (v > LIMIT_MAX) {
        v = LIMIT_MAX;
    }
    Py_INCREF(value);
    Py_XSETREF(*obj, value);
    *limit = v;
    return 0;
}

static int
Parser_init(ParserObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"max_control_line", "max_payload", NULL};
    PyObject *maxline = NULL, *maxpayload = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OO:Parser", kwlist, &maxline, &maxpayload)) {
        return -1;
    }
    PyObject *dl = NULL, *dp = NULL;
    if (maxline == NULL) {
        maxline = dl = PyLong_FromLong(DEFAULT_MAX_CONTROL_LINE);
    }
    if (maxpayload == NULL) {
        maxpayload = dp = PyLong_FromLong(DEFAULT_MAX_PAYLOAD);
    }
    int r = -1;
    if (maxline != NULL && maxpayload != NULL &&
        set_limit(maxline, &self->maxline_obj, &self->maxline, "max_control_line") == 0 &&
        set_limit(maxpayload, &self->maxpayload_obj, &self->maxpayload, "max_payload") == 0) {
        r = 0;
    }
    Py_XDECREF(dl);
    Py_XDECREF(dp);
    self->line_len = 0;
    clear_payload(self);
    return r;
}

static void
Parser_dealloc(ParserObject *self)
{
    clear_payload(self);
    Py_CLEAR(self->maxline_obj);
    Py_CLEAR(self->maxpayload_obj);
    PyMem_Free(self->line);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ------------------------------------------------------------------ helpers */

static int
protocol_error(const char *format, ...)
{
    va_list vargs;
    va_start(vargs, format);
    PyObject *msg = PyUnicode_FromFormatV(format, vargs);
    va_end(vargs);
    if (msg != NULL) {
        PyErr_SetObject(ProtocolError, msg);
        Py_DECREF(msg);
    }
    return -1;
}

/* ProtocolError(f"{prefix}{line[:limit]!r}") */
static int
line_error(const char *prefix, const char *line, Py_ssize_t len, Py_ssize_t limit)
{
    PyObject *b = PyBytes_FromStringAndSize(line, len < limit ? len : limit);
    if (b == NULL) {
        return -1;
    }
    protocol_error("%s%R", prefix, b);
    Py_DECREF(b);
    return -1;
}

static int
overlong(ParserObject *self)
{
    return protocol_error("control line longer than %zd bytes", self->maxline);
}

/* Index of the first CRLF in buf[0:n], or -1. */
static Py_ssize_t
find_crlf(const char *buf, Py_ssize_t n)
{
    const char *p = buf, *end = buf + n;
    while (p < end) {
        const char *cr = memchr(p, '\r', end - p);
        if (cr == NULL || cr + 1 >= end) {
            return -1;
        }
        if (cr[1] == '\n') {
            return cr - buf;
        }
        p = cr + 1;
    }
    return -1;
}

/* bytes.split()'s whitespace: space, \t, \n, \v, \f, \r */
static inline int
is_ws(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline unsigned char
upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}

typedef struct {
    const char *p;
    Py_ssize_t n;
} Token;

/* 1 if every byte is an ASCII digit (bytes.isdigit(); tokens are never empty). */
static int
is_digits(Token t)
{
    for (Py_ssize_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* The value of a digit token, or -1 when it does not fit in a Py_ssize_t. */
static Py_ssize_t
digits_value(Token t)
{
    Py_ssize_t v = 0;
    for (Py_ssize_t i = 0; i < t.n; i++) {
        int d = t.p[i] - '0';
        if (v > (PY_SSIZE_T_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    return v;
}

/* int(token) for a digit token of any length. */
static PyObject *
digits_long(Token t)
{
    Py_ssize_t v = digits_value(t);
    if (v >= 0) {
        return PyLong_FromSsize_t(v);
    }
    PyObject *b = PyBytes_FromStringAndSize(t.p, t.n);
    if (b == NULL) {
        return NULL;
    }
    PyObject *r = PyLong_FromString(PyBytes_AS_STRING(b), NULL, 10);
    Py_DECREF(b);
    return r;
}

/* A Msg, stealing the references (raw_headers may be NULL for None). */
static PyObject *
make_msg(PyObject *subject, PyObject *sid, PyObject *reply, PyObject *data, PyObject *hdr)
{
    PyObject *m;
    if (hdr == NULL) {
        hdr = Py_NewRef(Py_None);
    }
    if (fast_msg) {
        m = MsgType->tp_alloc(MsgType, 0);
        if (m != NULL) {
            char *base = (char *)m;
            *(PyObject **)(base + off_subject) = subject;
            *(PyObject **)(base + off_sid) = sid;
            *(PyObject **)(base + off_reply) = reply;
            *(PyObject **)(base + off_data) = data;
            *(PyObject **)(base + off_raw_headers) = hdr;
            *(PyObject **)(base + off_parsed) = Py_NewRef(Py_None);
            return m;
        }
    }
    else {
        m = PyObject_CallFunctionObjArgs((PyObject *)MsgType, subject, sid, reply, data, hdr,
                                         NULL);
    }
    Py_DECREF(subject);
    Py_DECREF(sid);
    Py_DECREF(reply);
    Py_DECREF(data);
    Py_DECREF(hdr);
    return m;
}

static int
append_steal(PyObject *events, PyObject *ev)
{
    if (ev == NULL) {
        return -1;
    }
    int r = PyList_Append(events, ev);
    Py_DECREF(ev);
    return r;
}

/* ------------------------------------------------------------------ payloads */

/* Copy buf[0:k] into the pending message at its offset p_have. */
static void
payload_copy(ParserObject *self, const char *buf, Py_ssize_t k)
{
    Py_ssize_t at = self->p_have;
    if (at < self->p_hlen) {
        Py_ssize_t h = self->p_hlen - at;
        if (h > k) {
            h = k;
        }
        memcpy(PyBytes_AS_STRING(self->p_hdr) + at, buf, h);
        buf += h;
        k -= h;
        at += h;
    }
    if (k > 0) {
        memcpy(PyBytes_AS_STRING(self->p_data) + (at - self->p_hlen), buf, k);
    }
}

/* Feed buf[0:n] to the pending message; returns the bytes used, -1 on error. */
static Py_ssize_t
payload_consume(ParserObject *self, const char *buf, Py_ssize_t n, PyObject *events)
{
    Py_ssize_t used = 0;
    Py_ssize_t want = self->p_size - self->p_have;
    if (want > 0) {
        used = n < want ? n : want;
        payload_copy(self, buf, used);
        self->p_have += used;
    }
    while (self->p_trail_have < 2 && used < n) {
        self->p_trail[self->p_trail_have++] = buf[used++];
    }
    if (self->p_trail_have < 2) {
        return used;
    }
    if (self->p_trail[0] != '\r' || self->p_trail[1] != '\n') {
        return protocol_error("payload not followed by CRLF");
    }
    PyObject *m = make_msg(self->p_subject, self->p_sid, self->p_reply, self->p_data,
                           self->p_hdr);
    self->p_subject = self->p_sid = self->p_reply = self->p_data = self->p_hdr = NULL;
    clear_payload(self);
    if (append_steal(events, m) < 0) {
        return -1;
    }
    return used;
}

/* ------------------------------------------------------------------ control lines */

/* Handle one control line `line[0:len]` (without its CRLF); its payload, if any,
 * starts at buf[start] of buf[0:n]. Sets *next to where parsing goes on in buf; if
 * the payload is incomplete, the parser is left in_payload and *next is n. */
static int
handle_line(ParserObject *self, const char *line, Py_ssize_t len, const char *buf,
            Py_ssize_t n, Py_ssize_t start, Py_ssize_t *next, PyObject *events)
{
    int hmsg;
    Py_ssize_t skip;
    unsigned char first = len > 0 ? (unsigned char)line[0] : 0;
    if (first == 'M' || first == 'm') {
        if (len < 4 || upper(line[1]) != 'S' || upper(line[2]) != 'G' ||
            (line[3] != ' ' && line[3] != '\t')) {
            return line_error("unknown protocol operation: ", line, len, 32);
        }
        hmsg = 0;
        skip = 4;
    }
    else if (first == 'H' || first == 'h') {
        if (len < 5 || upper(line[1]) != 'M' || upper(line[2]) != 'S' ||
            upper(line[3]) != 'G' || (line[4] != ' ' && line[4] != '\t')) {
            return line_error("unknown protocol operation: ", line, len, 32);
        }
        hmsg = 1;
        skip = 5;
    }
    else {
        PyObject *b = PyBytes_FromStringAndSize(line, len);
        if (b == NULL) {
            return -1;
        }
        PyObject *ev = PyObject_CallOneArg(control_event, b);
        Py_DECREF(b);
        if (append_steal(events, ev) < 0) {
            return -1;
        }
        *next = start;
        return 0;
    }
    const char *malformed = hmsg ? "malformed HMSG: " : "malformed MSG: ";

    /* bytes.split(), keeping at most one token more than any valid form has. */
    Token tok[6];
    int ntok = 0;
    Py_ssize_t i = skip;
    while (i < len) {
        while (i < len && is_ws((unsigned char)line[i])) {
            i++;
        }
        if (i >= len) {
            break;
        }
        Py_ssize_t b = i;
        while (i < len && !is_ws((unsigned char)line[i])) {
            i++;
        }
        if (ntok == 6) {
            ntok = 7;
            break;
        }
        tok[ntok].p = line + b;
        tok[ntok].n = i - b;
        ntok++;
    }
    Token subject_t, sid_t, size_t_, hlen_t = {NULL, 0}, reply_t = {NULL, 0};
    int has_reply;
    if (hmsg) {
        /* HMSG <subject> <sid> [reply] <#header bytes> <#total bytes> */
        if (ntok == 5) {
            subject_t = tok[0], sid_t = tok[1], reply_t = tok[2], hlen_t = tok[3];
            size_t_ = tok[4];
            has_reply = 1;
        }
        else if (ntok == 4) {
            subject_t = tok[0], sid_t = tok[1], hlen_t = tok[2], size_t_ = tok[3];
            has_reply = 0;
        }
        else {
            return line_error(malformed, line, len, 64);
        }
        if (!(is_digits(sid_t) && is_digits(hlen_t) && is_digits(size_t_))) {
            return line_error(malformed, line, len, 64);
        }
    }
    else {
        /* MSG <subject> <sid> [reply] <#bytes> */
        if (ntok == 4) {
            subject_t = tok[0], sid_t = tok[1], reply_t = tok[2], size_t_ = tok[3];
            has_reply = 1;
        }
        else if (ntok == 3) {
            subject_t = tok[0], sid_t = tok[1], size_t_ = tok[2];
            has_reply = 0;
        }
        else {
            return line_error(malformed, line, len, 64);
        }
        if (!(is_digits(sid_t) && is_digits(size_t_))) {
            return line_error(malformed, line, len, 64);
        }
    }
    /* The numbers, as int() reads them: one too long for int() (more digits than
     * sys.get_int_max_str_digits()) makes the line malformed, before any other check. */
    PyObject *sid = NULL, *big_h = NULL, *big_s = NULL, *subject = NULL, *reply = NULL;
    Py_ssize_t size = digits_value(size_t_); /* -1: beyond any max_payload */
    Py_ssize_t hlen = hmsg ? digits_value(hlen_t) : 0;
    if ((sid = digits_long(sid_t)) == NULL ||
        (hmsg && hlen < 0 && (big_h = digits_long(hlen_t)) == NULL) ||
        (size < 0 && (big_s = digits_long(size_t_)) == NULL)) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            line_error(malformed, line, len, 64);
        }
        goto fail;
    }
    if (hmsg && (hlen < 0 || size < 0 || hlen > size)) {
        /* Exact comparison (and message) for numbers of any length. */
        PyObject *h = big_h ? Py_NewRef(big_h) : PyLong_FromSsize_t(hlen);
        PyObject *t = big_s ? Py_NewRef(big_s) : PyLong_FromSsize_t(size);
        int gt = (h && t) ? PyObject_RichCompareBool(h, t, Py_GT) : -1;
        if (gt > 0) {
            protocol_error("bad header size %S for total size %S", h, t);
        }
        Py_XDECREF(h);
        Py_XDECREF(t);
        if (gt != 0) {
            goto fail;
        }
    }
    subject = PyUnicode_DecodeUTF8(subject_t.p, subject_t.n, NULL);
    if (subject == NULL) {
        goto bad_utf8;
    }
    if (has_reply) {
        reply = PyUnicode_DecodeUTF8(reply_t.p, reply_t.n, NULL);
        if (reply == NULL) {
            goto bad_utf8;
        }
    }
    else {
        reply = Py_NewRef(Py_None);
    }
    if (size < 0 || size > self->maxpayload) {
        if (big_s != NULL) {
            protocol_error("bad payload size: %S", big_s);
        }
        else {
            protocol_error("bad payload size: %zd", size);
        }
        goto fail;
    }
    Py_CLEAR(big_h); /* hlen <= size <= max_payload: it fits */
    Py_ssize_t stop = start + size;
    if (stop + 2 <= n) {
        if (buf[stop] != '\r' || buf[stop + 1] != '\n') {
            protocol_error("payload not followed by CRLF");
            goto fail;
        }
        PyObject *hdr = NULL, *data;
        if (hmsg) {
            hdr = PyBytes_FromStringAndSize(buf + start, hlen);
            if (hdr == NULL) {
                goto fail;
            }
        }
        data = PyBytes_FromStringAndSize(buf + start + hlen, size - hlen);
        if (data == NULL) {
            Py_XDECREF(hdr);
            goto fail;
        }
        if (append_steal(events, make_msg(subject, sid, reply, data, hdr)) < 0) {
            return -1;
        }
        *next = stop + 2;
        return 0;
    }
    /* Incomplete payload: allocate its bytes now and fill them as reads arrive. */
    clear_payload(self);
    self->p_subject = subject;
    self->p_sid = sid;
    self->p_reply = reply;
    if (hmsg) {
        self->p_hdr = PyBytes_FromStringAndSize(NULL, hlen);
    }
    self->p_data = PyBytes_FromStringAndSize(NULL, size - hlen);
    if ((hmsg && self->p_hdr == NULL) || self->p_data == NULL) {
        clear_payload(self);
        return -1;
    }
    self->p_hlen = hlen;
    self->p_size = size;
    self->in_payload = 1;
    if (payload_consume(self, buf + start, n - start, events) < 0) {
        return -1;
    }
    *next = n;
    return 0;

bad_utf8:
    if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        line_error(malformed, line, len, 64);
    }
fail:
    Py_XDECREF(sid);
    Py_XDECREF(big_h);
    Py_XDECREF(big_s);
    Py_XDECREF(subject);
    Py_XDECREF(reply);
    return -1;
}

static int
keep_line(ParserObject *self, const char *buf, Py_ssize_t k)
{
    if (self->line_len + k > self->line_cap) {
        Py_ssize_t cap = self->line_cap ? self->line_cap : 256;
        while (cap < self->line_len + k) {
            cap *= 2;
        }
        char *p = PyMem_Realloc(self->line, cap);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->line = p;
        self->line_cap = cap;
    }
    memcpy(self->line + self->line_len, buf, k);
    self->line_len += k;
    return 0;
}

/* ------------------------------------------------------------------ feed */

static PyObject *
Parser_feed(ParserObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *buf = view.buf;
    const Py_ssize_t n = view.len;
    const Py_ssize_t maxline = self->maxline;
    Py_ssize_t pos = 0;
    PyObject *events = PyList_New(0);
    if (events == NULL) {
        goto fail;
    }
    if (self->in_payload) {
        pos = payload_consume(self, buf, n, events);
        if (pos < 0) {
            goto fail;
        }
        if (self->in_payload) {
            goto done;
        }
    }
    if (self->line_len > 0 && pos < n) {
        /* The rest of a control line begun in an earlier read. */
        Py_ssize_t L = self->line_len, len, start;
        if (self->line[L - 1] == '\r' && buf[pos] == '\n') {
            len = L - 1;
            start = pos + 1;
        }
        else {
            Py_ssize_t rest = n - pos, limit = maxline + 2 - L;
            Py_ssize_t e = find_crlf(buf + pos, rest < limit ? rest : limit);
            if (e < 0) {
                Py_ssize_t total = L + rest;
                if (total > maxline && (total > maxline + 1 || buf[n - 1] != '\r')) {
                    overlong(self);
                    goto fail;
                }
                if (keep_line(self, buf + pos, rest) < 0) {
                    goto fail;
                }
                goto done;
            }
            len = L + e;
            if (len > maxline) {
                overlong(self);
                goto fail;
            }
            if (keep_line(self, buf + pos, e) < 0) {
                goto fail;
            }
            start = pos + e + 2;
        }
        self->line_len = 0;
        if (handle_line(self, self->line, len, buf, n, start, &pos, events) < 0) {
            goto fail;
        }
    }
    while (pos < n) {
        Py_ssize_t rest = n - pos;
        Py_ssize_t end = find_crlf(buf + pos, rest < maxline + 2 ? rest : maxline + 2);
        if (end < 0) {
            /* Fail as soon as the partial line cannot fit any more; a trailing CR may
             * still be the first half of the CRLF ending a line of exactly maxline. */
            if (rest > maxline && (rest > maxline + 1 || buf[n - 1] != '\r')) {
                overlong(self);
                goto fail;
            }
            if (keep_line(self, buf + pos, rest) < 0) {
                goto fail;
            }
            break;
        }
        if (end > maxline) {
            overlong(self);
            goto fail;
        }
        if (handle_line(self, buf + pos, end, buf, n, pos + end + 2, &pos, events) < 0) {
            goto fail;
        }
    }
done:
    PyBuffer_Release(&view);
    return events;
fail:
    PyBuffer_Release(&view);
    Py_XDECREF(events);
    return NULL;
}

static PyObject *
Parser_reset(ParserObject *self, PyObject *Py_UNUSED(ignored))
{
    self->line_len = 0;
    clear_payload(self);
    Py_RETURN_NONE;
}

static PyObject *
get_maxline(ParserObject *self, void *Py_UNUSED(closure))
{
    if (self->maxline_obj == NULL) {
        return PyLong_FromSsize_t(self->maxline);
    }
    return Py_NewRef(self->maxline_obj);
}

static int
set_maxline(ParserObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    return set_limit(value, &self->maxline_obj, &self->maxline, "max_control_line");
}

static PyObject *
get_maxpayload(ParserObject *self, void *Py_UNUSED(closure))
{
    if (self->maxpayload_obj == NULL) {
        return PyLong_FromSsize_t(self->maxpayload);
    }
    return Py_NewRef(self->maxpayload_obj);
}

static int
set_maxpayload(ParserObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    return set_limit(value, &self->maxpayload_obj, &self->maxpayload, "max_payload");
}

/* The pure parser's private state, read-only, computed on access: what
 * tests/unit/test_fuzz_parser.py reads to check that the parser keeps at most one partial
 * line or one partial payload between reads holds of this parser too. */

static PyObject *
get_buf(ParserObject *self, void *Py_UNUSED(closure))
{
    return PyBytes_FromStringAndSize(self->line, self->in_payload ? 0 : self->line_len);
}

static PyObject *
get_head(ParserObject *self, void *Py_UNUSED(closure))
{
    if (!self->in_payload) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(OOOnn)", self->p_subject, self->p_sid, self->p_reply,
                         self->p_hdr ? self->p_hlen : (Py_ssize_t)-1, self->p_size);
}

static PyObject *
get_have(ParserObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->in_payload ? self->p_have + self->p_trail_have : 0);
}

static PyObject *
get_need(ParserObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->in_payload ? self->p_size + 2 : 0);
}

static PyObject *
get_chunks(ParserObject *self, void *Py_UNUSED(closure))
{
    if (!self->in_payload) {
        return PyList_New(0);
    }
    /* What has arrived of the payload and its CRLF, as one chunk. */
    Py_ssize_t have = self->p_have, h = have < self->p_hlen ? have : self->p_hlen;
    PyObject *b = PyBytes_FromStringAndSize(NULL, have + self->p_trail_have);
    if (b == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(b);
    if (h > 0) {
        memcpy(out, PyBytes_AS_STRING(self->p_hdr), h);
    }
    if (have > h) {
        memcpy(out + h, PyBytes_AS_STRING(self->p_data), have - h);
    }
    memcpy(out + have, self->p_trail, self->p_trail_have);
    PyObject *list = PyList_New(1);
    if (list == NULL) {
        Py_DECREF(b);
        return NULL;
    }
    PyList_SET_ITEM(list, 0, b);
    return list;
}

static PyMethodDef Parser_methods[] = {
    {"feed", (PyCFunction)Parser_feed, METH_O,
     "Consume ``data`` and return every event it completes, in order."},
    {"reset", (PyCFunction)Parser_reset, METH_NOARGS,
     "Forget any partial input (used when a connection is replaced)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Parser_getset[] = {
    {"max_control_line", (getter)get_maxline, (setter)set_maxline,
     "The longest control line accepted, in bytes.", NULL},
    {"max_payload", (getter)get_maxpayload, (setter)set_maxpayload,
     "The largest payload (headers and body) accepted, in bytes.", NULL},
    {"_buf", (getter)get_buf, NULL, "The partial control line kept (read-only).", NULL},
    {"_head", (getter)get_head, NULL, "The pending message's head, or None.", NULL},
    {"_have", (getter)get_have, NULL, "Bytes of the pending payload and CRLF received.", NULL},
    {"_need", (getter)get_need, NULL, "Bytes of the pending payload and CRLF.", NULL},
    {"_chunks", (getter)get_chunks, NULL, "What has arrived of the pending payload.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ParserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "natskv.protocol._cparser.Parser",
    .tp_doc = "Incremental parser for the server-to-client side of the NATS protocol (C).",
    .tp_basicsize = sizeof(ParserObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Parser_init,
    .tp_dealloc = (destructor)Parser_dealloc,
    .tp_methods = Parser_methods,
    .tp_getset = Parser_getset,
};

/* ------------------------------------------------------------------ module */

/* The offset of an object slot of `type`, or -1 if `name` is not one. */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *d = PyObject_GetAttrString((PyObject *)type, name);
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *def = ((PyMemberDescrObject *)d)->d_member;
        if (def->type == Py_T_OBJECT_EX && !(def->flags & Py_READONLY)) {
            offset = def->offset;
        }
    }
    Py_DECREF(d);
    return offset;
}

static int
find_msg_slots(void)
{
    /* Only a plain slotted class of its own, made by object.__new__ with no __dict__,
     * can be filled in directly. */
    if (!(MsgType->tp_flags & Py_TPFLAGS_HEAPTYPE) || MsgType->tp_base != &PyBaseObject_Type ||
        MsgType->tp_new != PyBaseObject_Type.tp_new || MsgType->tp_alloc != PyType_GenericAlloc ||
        MsgType->tp_dictoffset != 0 ||
        MsgType->tp_itemsize != 0) {
        return 0;
    }
    off_subject = slot_offset(MsgType, "subject");
    off_sid = slot_offset(MsgType, "sid");
    off_reply = slot_offset(MsgType, "reply");
    off_data = slot_offset(MsgType, "data");
    off_raw_headers = slot_offset(MsgType, "raw_headers");
    off_parsed = slot_offset(MsgType, "_parsed");
    return off_subject > 0 && off_sid > 0 && off_reply > 0 && off_data > 0 &&
           off_raw_headers > 0 && off_parsed > 0;
}

static PyObject *
import_attr(const char *module, const char *name)
{
    PyObject *m = PyImport_ImportModule(module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *r = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
    return r;
}

static PyObject *
fast_msg_get(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(fast_msg);
}

static PyMethodDef module_methods[] = {
    {"_fast_msg", fast_msg_get, METH_NOARGS,
     "Whether Msg objects are filled in directly (else Msg(...) is called)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cparser_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "natskv.protocol._cparser",
    .m_doc = "The compiled NATS protocol parser (natskv.protocol.Parser when available).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__cparser(void)
{
    PyObject *msg = import_attr("natskv.protocol._events", "Msg");
    if (msg == NULL) {
        return NULL;
    }
    if (!PyType_Check(msg)) {
        Py_DECREF(msg);
        PyErr_SetString(PyExc_ImportError, "natskv.protocol._events.Msg is not a class");
        return NULL;
    }
    MsgType = (PyTypeObject *)msg;
    ProtocolError = import_attr("natskv.errors", "ProtocolError");
    if (ProtocolError == NULL) {
        return NULL;
    }
    control_event = import_attr("natskv.protocol._parser", "_control_event");
    if (control_event == NULL) {
        return NULL;
    }
    fast_msg = find_msg_slots();
    if (PyType_Ready(&ParserType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&cparser_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ParserType);
    if (PyModule_AddObject(m, "Parser", (PyObject *)&ParserType) < 0) {
        Py_DECREF(&ParserType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_CONTROL_LINE", DEFAULT_MAX_CONTROL_LINE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
