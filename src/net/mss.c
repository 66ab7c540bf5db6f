/* multistream-select 1.0: one protocol negotiation, dialer or listener,
 * as a byte-in / byte-out state machine. */
#include <limits.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"

#define HEADER LP2P_MSS_PROTOCOL_ID
#define HEADER_LEN (sizeof(HEADER) - 1)

enum { NEGOTIATING = 0, DONE = 1 };

typedef struct proto {
  const char *text; /* NUL-terminated, in the object's string block */
  size_t len;
} proto;

struct lp2p_mss {
  const lp2p_mem *mem;
  lp2p_mss_role role;
  lp2p_mss_callbacks cb;
  void *user;
  proto *protos;
  size_t nprotos;
  size_t max_message;
  uint32_t max_attempts;
  lp2p_tstamp timeout;
  lp2p_tstamp deadline; /* NEVER until the first call with a time */
  bool armed;
  /* message parser: a length varint, then `msg_len` bytes into `msg` */
  uint8_t vbuf[LP2P_UVARINT_MAX_LEN];
  size_t vlen;
  size_t msg_len; /* 0 while the varint is incomplete */
  size_t msg_got;
  char *msg; /* max_message + 1 bytes; holds the result when done */
  /* negotiation */
  int state; /* NEGOTIATING, DONE or a negative error */
  bool got_header;
  size_t proposal; /* dialer: index of the current proposal */
  uint32_t attempts;
  const char *result;
  size_t result_len;
  lp2p_errdetail detail;
  lp2p_buf out; /* pending output */
};

void lp2p_mss_settings_default(lp2p_mss_settings *s) {
  memset(s, 0, sizeof(*s));
  s->role = LP2P_MSS_DIALER;
  s->max_message = 1024;
  s->max_attempts = 16;
  s->timeout = 10 * LP2P_SECONDS;
}

/* Whether `p` is UTF-8 without NUL: protocol ids are text, and the
 * application receives them as C strings. */
static bool is_text(const char *text, size_t len) {
  const uint8_t *p = (const uint8_t *)text;
  for (size_t i = 0; i < len;) {
    uint8_t c = p[i];
    size_t n = c < 0x80   ? 0
               : c < 0xc2 ? 9
               : c < 0xe0 ? 1
               : c < 0xf0 ? 2
               : c < 0xf5 ? 3
                          : 9;
    if (c == 0 || n == 9 || n >= len - i) {
      return false;
    }
    uint32_t cp = c & (0x7fu >> n);
    for (size_t k = 1; k <= n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) {
        return false;
      }
      cp = cp << 6 | (p[i + k] & 0x3fu);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

static bool is_reserved(const char *p, size_t len) {
  return len == 2 && (memcmp(p, "na", 2) == 0 || memcmp(p, "ls", 2) == 0);
}

static int check_settings(const lp2p_mss_settings *s) {
  if (s->max_message < HEADER_LEN + 1 || s->max_message > INT_MAX ||
      s->max_attempts == 0 || (s->nprotocols && !s->protocols) ||
      (s->role == LP2P_MSS_DIALER && s->nprotocols == 0) ||
      (s->role != LP2P_MSS_DIALER && s->role != LP2P_MSS_LISTENER)) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < s->nprotocols; i++) {
    const char *p = s->protocols[i];
    size_t len = p ? strlen(p) : 0;
    if (len == 0 || len + 1 > s->max_message || memchr(p, '\n', len) ||
        is_reserved(p, len) || !is_text(p, len)) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  return 0;
}

/* Copies the protocol list into one block: the array, then the texts. */
static int copy_protocols(lp2p_mss *m, const lp2p_mss_settings *s) {
  size_t total = s->nprotocols * sizeof(proto);
  for (size_t i = 0; i < s->nprotocols; i++) {
    total += strlen(s->protocols[i]) + 1;
  }
  m->protos = lp2p_malloc(m->mem, total);
  if (!m->protos) {
    return LP2P_ERR_NOMEM;
  }
  char *text = (char *)(m->protos + s->nprotocols);
  for (size_t i = 0; i < s->nprotocols; i++) {
    size_t len = strlen(s->protocols[i]);
    memcpy(text, s->protocols[i], len + 1);
    m->protos[i].text = text;
    m->protos[i].len = len;
    text += len + 1;
  }
  m->nprotos = s->nprotocols;
  return 0;
}

/* Appends one message: varint(len + 1), text, '\n'. */
static int queue_msg(lp2p_mss *m, const char *text, size_t len) {
  uint8_t v[LP2P_UVARINT_MAX_LEN];
  int n = lp2p_uvarint_encode(len + 1, v, sizeof(v));
  size_t start = m->out.len;
  int rv = lp2p_buf_append(&m->out, v, (size_t)n);
  if (rv == 0) {
    rv = lp2p_buf_append(&m->out, text, len);
  }
  if (rv == 0) {
    rv = lp2p_buf_append(&m->out, "\n", 1);
  }
  if (rv != 0) {
    lp2p_buf_truncate(&m->out, start);
  }
  return rv;
}

int lp2p_mss_new(lp2p_mss **out, const lp2p_mss_settings *s,
                 const lp2p_mss_callbacks *cb, const lp2p_mem *mem,
                 void *user) {
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  lp2p_mss *m = lp2p_calloc(mem, 1, sizeof(*m));
  if (!m) {
    return LP2P_ERR_NOMEM;
  }
  m->mem = mem;
  m->role = s->role;
  if (cb) {
    m->cb = *cb;
  }
  m->user = user;
  m->max_message = s->max_message;
  m->max_attempts = s->max_attempts;
  m->timeout = s->timeout;
  m->deadline = LP2P_TSTAMP_NEVER;
  lp2p_buf_init(&m->out, mem);
  m->msg = lp2p_malloc(mem, s->max_message + 1);
  rv = m->msg ? copy_protocols(m, s) : LP2P_ERR_NOMEM;
  if (rv == 0) {
    rv = queue_msg(m, HEADER, HEADER_LEN);
  }
  if (rv == 0 && m->role == LP2P_MSS_DIALER) {
    /* the first proposal rides with the header, saving a round trip */
    rv = queue_msg(m, m->protos[0].text, m->protos[0].len);
  }
  if (rv != 0) {
    lp2p_mss_del(m);
    return rv;
  }
  *out = m;
  return 0;
}

void lp2p_mss_del(lp2p_mss *m) {
  if (!m) {
    return;
  }
  lp2p_buf_free(&m->out);
  lp2p_free(m->mem, m->msg);
  lp2p_free(m->mem, m->protos);
  lp2p_free(m->mem, m);
}

/* Up to 48 bytes of peer text, non-printable bytes as '?', for errors. */
static void printable(const char *in, size_t len, char *out) {
  size_t n = len < 48 ? len : 48;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[n] = 0;
}

static int fail(lp2p_mss *m, int err, const char *why, const char *text,
                size_t len) {
  char shown[49];
  printable(text, len, shown);
  m->state = lp2p_errdetail_set(&m->detail, err, "%s%s%s%s", why,
                                text ? " '" : "", shown, text ? "'" : "");
  return err;
}

static const proto *find_proto(const lp2p_mss *m, const char *text,
                               size_t len) {
  for (size_t i = 0; i < m->nprotos; i++) {
    if (m->protos[i].len == len && memcmp(m->protos[i].text, text, len) == 0) {
      return &m->protos[i];
    }
  }
  return NULL;
}

static void finish(lp2p_mss *m, const char *text, size_t len) {
  m->state = DONE;
  m->result = text;
  m->result_len = len;
}

static int dialer_message(lp2p_mss *m, const char *text, size_t len) {
  const proto *p = &m->protos[m->proposal];
  if (len == p->len && memcmp(text, p->text, len) == 0) {
    finish(m, p->text, p->len);
    return 0;
  }
  if (len != 2 || memcmp(text, "na", 2) != 0) {
    return fail(m, LP2P_ERR_MALFORMED, "unexpected answer", text, len);
  }
  m->proposal++;
  if (m->proposal == m->nprotos || m->proposal >= m->max_attempts) {
    return fail(m, LP2P_ERR_UNSUPPORTED, "the peer supports none of ours", NULL,
                0);
  }
  p = &m->protos[m->proposal];
  return queue_msg(m, p->text, p->len);
}

/* The "ls" answer: one message whose text is every protocol framed as a
 * message of its own. */
static int queue_list(lp2p_mss *m) {
  lp2p_buf list;
  lp2p_buf_init(&list, m->mem);
  int rv = 0;
  for (size_t i = 0; rv == 0 && i < m->nprotos; i++) {
    uint8_t v[LP2P_UVARINT_MAX_LEN];
    int n = lp2p_uvarint_encode(m->protos[i].len + 1, v, sizeof(v));
    rv = lp2p_buf_append(&list, v, (size_t)n);
    if (rv == 0) {
      rv = lp2p_buf_append(&list, m->protos[i].text, m->protos[i].len);
    }
    if (rv == 0) {
      rv = lp2p_buf_append(&list, "\n", 1);
    }
  }
  if (rv == 0) {
    rv = queue_msg(m, (const char *)list.data, list.len);
  }
  lp2p_buf_free(&list);
  return rv;
}

static int listener_message(lp2p_mss *m, const char *text, size_t len) {
  /* a proposal that is no text is simply not supported */
  bool text_ok = is_text(text, len);
  const proto *p = text_ok ? find_proto(m, text, len) : NULL;
  if (p || (text_ok && m->cb.match && m->cb.match(m, text, len, m->user))) {
    int rv = queue_msg(m, text, len);
    if (rv == 0) {
      finish(m, text, len); /* `text` is in m->msg, unused from now on */
    }
    return rv;
  }
  if (m->attempts == m->max_attempts) {
    return fail(m, LP2P_ERR_TOO_LARGE, "too many proposals, last", text, len);
  }
  m->attempts++;
  if (len == 2 && memcmp(text, "ls", 2) == 0) {
    return queue_list(m);
  }
  return queue_msg(m, "na", 2);
}

static int on_message(lp2p_mss *m, char *text, size_t len) {
  if (text[len - 1] != '\n') { /* len >= 1: read_length refuses 0 */
    return fail(m, LP2P_ERR_MALFORMED, "message does not end with a newline",
                NULL, 0);
  }
  len--;
  text[len] = 0;
  if (!m->got_header) {
    if (len != HEADER_LEN || memcmp(text, HEADER, len) != 0) {
      return fail(m, LP2P_ERR_MALFORMED, "not multistream 1.0:", text, len);
    }
    m->got_header = true;
    return 0;
  }
  int rv = m->role == LP2P_MSS_DIALER ? dialer_message(m, text, len)
                                      : listener_message(m, text, len);
  if (rv < 0 && m->state >= 0) {
    m->state = rv; /* NOMEM while queueing an answer */
  }
  return rv;
}

/* Reads the length varint byte by byte, so that it may be split. Returns
 * the bytes consumed or an error. */
static int read_length(lp2p_mss *m, const uint8_t *in, size_t len) {
  size_t i = 0;
  while (i < len && m->msg_len == 0) {
    uint8_t b = in[i++];
    m->vbuf[m->vlen++] = b;
    if (b & 0x80) {
      if (m->vlen == sizeof(m->vbuf)) {
        return fail(m, LP2P_ERR_OVERLONG, "length varint too long", NULL, 0);
      }
      continue;
    }
    uint64_t v;
    if (lp2p_uvarint_decode(m->vbuf, m->vlen, &v) < 0) {
      return fail(m, LP2P_ERR_OVERLONG, "non-minimal length varint", NULL, 0);
    }
    m->vlen = 0;
    if (v == 0) {
      return fail(m, LP2P_ERR_MALFORMED, "empty message", NULL, 0);
    }
    if (v > m->max_message) {
      return fail(m, LP2P_ERR_TOO_LARGE, "message over the size limit", NULL,
                  0);
    }
    if (!m->got_header && v != HEADER_LEN + 1) {
      /* not the header: refuse now rather than wait for bytes that a
       * peer speaking something else (HTTP, TLS) will never send */
      return fail(m, LP2P_ERR_MALFORMED,
                  "not multistream 1.0: wrong header length", NULL, 0);
    }
    m->msg_len = (size_t)v;
    m->msg_got = 0;
  }
  return (int)i;
}

/* Consumes input up to the end of one message at most. */
static int read_message(lp2p_mss *m, const uint8_t *in, size_t len) {
  int used = 0;
  if (m->msg_len == 0) {
    used = read_length(m, in, len);
    if (used < 0 || m->msg_len == 0) {
      return used;
    }
  }
  size_t n = m->msg_len - m->msg_got, avail = len - (size_t)used;
  n = n < avail ? n : avail;
  memcpy(m->msg + m->msg_got, in + used, n);
  m->msg_got += n;
  used += (int)n;
  if (m->msg_got == m->msg_len) {
    size_t msg_len = m->msg_len;
    m->msg_len = 0;
    int rv = on_message(m, m->msg, msg_len);
    if (rv < 0) {
      return rv;
    }
  }
  return used;
}

static void arm(lp2p_mss *m, lp2p_tstamp now) {
  if (!m->armed) {
    m->armed = true;
    if (m->timeout && now <= LP2P_TSTAMP_NEVER - m->timeout) {
      m->deadline = now + m->timeout;
    }
  }
}

int lp2p_mss_recv(lp2p_mss *m, const uint8_t *in, size_t len, lp2p_tstamp now) {
  if (m->state < 0) {
    return LP2P_ERR_STATE;
  }
  if (m->state == DONE) {
    return 0;
  }
  arm(m, now);
  /* what one call consumes is returned as an int */
  len = len > INT_MAX ? INT_MAX : len;
  size_t i = 0;
  while (i < len && m->state == NEGOTIATING) {
    int used = read_message(m, in + i, len - i);
    if (used < 0) {
      return used;
    }
    i += (size_t)used;
  }
  return (int)i;
}

ssize_t lp2p_mss_pull(lp2p_mss *m, const uint8_t **out, lp2p_tstamp now) {
  arm(m, now);
  size_t n = m->out.len;
  if (n == 0) {
    return 0;
  }
  *out = m->out.data;
  /* the bytes stay valid until the next call, which may reuse the space */
  m->out.len = 0;
  return (ssize_t)n;
}

lp2p_tstamp lp2p_mss_expiry(const lp2p_mss *m) {
  return m->state == NEGOTIATING ? m->deadline : LP2P_TSTAMP_NEVER;
}

int lp2p_mss_handle_expiry(lp2p_mss *m, lp2p_tstamp now) {
  if (m->state == NEGOTIATING && now >= m->deadline) {
    return fail(m, LP2P_ERR_TIMEOUT, "negotiation timed out", NULL, 0);
  }
  return 0;
}

int lp2p_mss_result(const lp2p_mss *m, const char **proto_out, size_t *len) {
  if (m->state == DONE) {
    if (proto_out) {
      *proto_out = m->result;
    }
    if (len) {
      *len = m->result_len;
    }
  }
  return m->state;
}

const char *lp2p_mss_errmsg(const lp2p_mss *m) {
  return m->state < 0 ? m->detail.msg : "";
}
