/* TraceEvent as go's JSONTracer writes it: Go's encoding/json of the
 * generated pb structs. That fixes the details a reader may compare byte
 * for byte: fields in declaration order; `omitempty` drops empty byte
 * strings and lists but keeps a set string even when empty (a *string);
 * the type enum is a number (no MarshalJSON on it); bytes are padded
 * standard base64; strings get Go's escaping, HTML characters included. */
#include "trace/payload.h"

#include <stdio.h>

typedef struct json_writer {
  lp2p_buf *b;
  int err;
  bool first; /* no comma before the next member */
} json_writer;

static void raw(json_writer *w, const void *data, size_t len) {
  if (w->err == 0) {
    w->err = lp2p_buf_append(w->b, data, len);
  }
}

static void str(json_writer *w, const char *s) {
  if (w->err == 0) {
    w->err = lp2p_buf_append_str(w->b, s);
  }
}

static void base64(json_writer *w, const lp2p_bytes *v) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  raw(w, "\"", 1);
  for (size_t i = 0; i < v->len; i += 3) {
    size_t n = v->len - i < 3 ? v->len - i : 3;
    uint32_t x = (uint32_t)v->data[i] << 16;
    x |= n > 1 ? (uint32_t)v->data[i + 1] << 8 : 0;
    x |= n > 2 ? (uint32_t)v->data[i + 2] : 0;
    char q[4] = {alphabet[x >> 18], alphabet[(x >> 12) & 63],
                 n > 1 ? alphabet[(x >> 6) & 63] : '=',
                 n > 2 ? alphabet[x & 63] : '='};
    raw(w, q, 4);
  }
  raw(w, "\"", 1);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 where Go's
 * utf8.DecodeRune returns RuneError of size 1 (overlong forms,
 * surrogates, past U+10FFFF, truncated). */
static size_t utf8_len(const uint8_t *s, size_t n) {
  uint8_t c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) {
    return 0;
  }
  for (size_t i = 2; i < len; i++) {
    if (s[i] < 0x80 || s[i] > 0xBF) {
      return 0;
    }
  }
  return len;
}

/* One ASCII byte as Go writes it in a string. */
static void ascii(json_writer *w, uint8_t c) {
  static const char hex[] = "0123456789abcdef";
  char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
  switch (c) {
  case '\\':
  case '"':
    esc[1] = (char)c;
    raw(w, esc, 2);
    return;
  case '\b':
    raw(w, "\\b", 2);
    return;
  case '\f':
    raw(w, "\\f", 2);
    return;
  case '\n':
    raw(w, "\\n", 2);
    return;
  case '\r':
    raw(w, "\\r", 2);
    return;
  case '\t':
    raw(w, "\\t", 2);
    return;
  }
  if (c < 0x20 || c == '<' || c == '>' || c == '&') {
    snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
    raw(w, esc, 6);
  } else {
    raw(w, &c, 1);
  }
}

static void string(json_writer *w, const lp2p_bytes *v) {
  raw(w, "\"", 1);
  for (size_t i = 0; i < v->len;) {
    const uint8_t *s = v->data + i;
    if (s[0] < 0x80) {
      ascii(w, s[0]);
      i++;
      continue;
    }
    size_t n = utf8_len(s, v->len - i);
    if (n == 0) {
      raw(w, "\\ufffd", 6);
      i++;
    } else if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 &&
               (s[2] == 0xA8 || s[2] == 0xA9)) {
      /* U+2028 and U+2029, escaped by Go for JSONP */
      raw(w, s[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
      i += n;
    } else {
      raw(w, s, n);
      i += n;
    }
  }
  raw(w, "\"", 1);
}

static void key(json_writer *w, const char *name) {
  if (!w->first) {
    raw(w, ",", 1);
  }
  w->first = false;
  raw(w, "\"", 1);
  str(w, name);
  raw(w, "\":", 2);
}

static void open_obj(json_writer *w, const char *name) {
  if (name) {
    key(w, name);
  }
  raw(w, "{", 1);
  w->first = true;
}

static void close_obj(json_writer *w) {
  raw(w, "}", 1);
  w->first = false;
}

static void int64_member(json_writer *w, const char *name, int64_t v) {
  char num[24];
  key(w, name);
  snprintf(num, sizeof num, "%lld", (long long)v);
  str(w, num);
}

/* []byte with omitempty: absent when empty */
static void bytes_member(json_writer *w, const char *name,
                         const lp2p_bytes *v) {
  if (v->data && v->len) {
    key(w, name);
    base64(w, v);
  }
}

/* *string with omitempty: present whenever set */
static void string_member(json_writer *w, const char *name,
                          const lp2p_bytes *v) {
  if (v->data) {
    key(w, name);
    string(w, v);
  }
}

/* [][]byte with omitempty: absent when empty */
static void ids_member(json_writer *w, const char *name,
                       const lp2p_trace_ids *ids) {
  if (ids->n_ids == 0) {
    return;
  }
  key(w, name);
  raw(w, "[", 1);
  for (size_t i = 0; i < ids->n_ids; i++) {
    if (i) {
      raw(w, ",", 1);
    }
    base64(w, &ids->ids[i]);
  }
  raw(w, "]", 1);
}

/* Lists of objects: "name":[{...},...], absent when empty. */
static bool open_list(json_writer *w, const char *name, size_t n) {
  if (n == 0) {
    return false;
  }
  key(w, name);
  raw(w, "[", 1);
  return true;
}

static void list_item(json_writer *w, size_t i) {
  if (i) {
    raw(w, ",", 1);
  }
  open_obj(w, NULL);
}

static void id_lists(json_writer *w, const char *name, const lp2p_trace_ids *l,
                     size_t n) {
  if (!open_list(w, name, n)) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    list_item(w, i);
    ids_member(w, "messageIDs", &l[i]);
    close_obj(w);
  }
  raw(w, "]", 1);
}

static void control(json_writer *w, const lp2p_trace_rpc_meta *m) {
  open_obj(w, "control");
  if (open_list(w, "ihave", m->n_ihave)) {
    for (size_t i = 0; i < m->n_ihave; i++) {
      list_item(w, i);
      string_member(w, "topic", &m->ihave[i].topic);
      ids_member(w, "messageIDs", &m->ihave[i].message_ids);
      close_obj(w);
    }
    raw(w, "]", 1);
  }
  id_lists(w, "iwant", m->iwant, m->n_iwant);
  if (open_list(w, "graft", m->n_graft)) {
    for (size_t i = 0; i < m->n_graft; i++) {
      list_item(w, i);
      string_member(w, "topic", &m->graft[i]);
      close_obj(w);
    }
    raw(w, "]", 1);
  }
  if (open_list(w, "prune", m->n_prune)) {
    for (size_t i = 0; i < m->n_prune; i++) {
      list_item(w, i);
      string_member(w, "topic", &m->prune[i].topic);
      ids_member(w, "peers", &m->prune[i].peers);
      close_obj(w);
    }
    raw(w, "]", 1);
  }
  id_lists(w, "idontwant", m->idontwant, m->n_idontwant);
  close_obj(w);
}

static void meta(json_writer *w, const char *name,
                 const lp2p_trace_rpc_meta *m) {
  open_obj(w, name);
  if (open_list(w, "messages", m->n_messages)) {
    for (size_t i = 0; i < m->n_messages; i++) {
      list_item(w, i);
      bytes_member(w, "messageID", &m->messages[i].message_id);
      string_member(w, "topic", &m->messages[i].topic);
      close_obj(w);
    }
    raw(w, "]", 1);
  }
  if (open_list(w, "subscription", m->n_subscriptions)) {
    for (size_t i = 0; i < m->n_subscriptions; i++) {
      list_item(w, i);
      key(w, "subscribe");
      str(w, m->subscriptions[i].subscribe ? "true" : "false");
      string_member(w, "topic", &m->subscriptions[i].topic);
      close_obj(w);
    }
    raw(w, "]", 1);
  }
  if (m->has_control) {
    control(w, m);
  }
  close_obj(w);
}

static void payload(json_writer *w, const lp2p__trace_payload *p) {
  open_obj(w, p->name);
  for (size_t i = 0; i < p->n_fields; i++) {
    const lp2p__trace_field *f = &p->fields[i];
    switch (f->kind) {
    case LP2P__TRACE_BYTES:
      bytes_member(w, f->name, f->bytes);
      break;
    case LP2P__TRACE_STRING:
      string_member(w, f->name, f->bytes);
      break;
    case LP2P__TRACE_INT64:
      int64_member(w, f->name, f->int64);
      break;
    case LP2P__TRACE_META:
      meta(w, f->name, f->meta);
      break;
    }
  }
  close_obj(w);
}

int lp2p_trace_encode_json(lp2p_buf *out, const lp2p_trace_event *ev) {
  lp2p__trace_payload p;
  int rv = lp2p__trace_payload_of(ev, &p);
  if (rv != 0) {
    return rv;
  }
  size_t start = out->len;
  json_writer w = {out, 0, true};
  open_obj(&w, NULL);
  int64_member(&w, "type", (int64_t)ev->type);
  bytes_member(&w, "peerID", &ev->peer_id);
  int64_member(&w, "timestamp", ev->timestamp);
  payload(&w, &p);
  close_obj(&w);
  raw(&w, "\n", 1);
  if (w.err != 0 && out->data) {
    lp2p_buf_truncate(out, start);
  }
  return w.err;
}
