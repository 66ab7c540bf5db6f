/* TraceEvent as protobuf, byte for byte what go's proto.Marshal writes:
 * fields in number order, an embedded message as its tag, length and
 * body. A body's length is known only once it is written, so the body goes
 * into the buffer first and its length is slid in before it. */
#include "trace/payload.h"

#include <string.h>

#include "pb/wire.h"

typedef struct pb_writer {
  lp2p_buf *b;
  int err;
} pb_writer;

static void put_varint(pb_writer *w, uint32_t num, uint64_t v) {
  if (w->err == 0) {
    w->err = lp2p_pb_put_varint(w->b, num, v);
  }
}

/* absent (data NULL) fields are not written, as go leaves nil ones out */
static void put_bytes(pb_writer *w, uint32_t num, const lp2p_bytes *v) {
  if (w->err == 0 && v->data) {
    w->err = lp2p_pb_put_bytes(w->b, num, v->data, v->len);
  }
}

/* Writes the tag of an embedded message; returns where its body starts. */
static size_t open_message(pb_writer *w, uint32_t num) {
  if (w->err == 0) {
    uint8_t tag[LP2P_PB_VARINT_MAX];
    uint8_t *end = lp2p_pb_write_varint(tag, (uint64_t)num << 3 | LP2P_PB_LEN);
    w->err = lp2p_buf_append(w->b, tag, (size_t)(end - tag));
  }
  return w->b->len;
}

static void close_message(pb_writer *w, size_t body) {
  if (w->err != 0) {
    return;
  }
  size_t len = w->b->len - body;
  size_t n = lp2p_pb_varint_size(len);
  w->err = lp2p_buf_reserve(w->b, n);
  if (w->err != 0) {
    return;
  }
  uint8_t *at = w->b->data + body;
  memmove(at + n, at, len);
  lp2p_pb_write_varint(at, len);
  w->b->len += n;
  w->b->data[w->b->len] = 0;
}

static void put_ids(pb_writer *w, uint32_t num, const lp2p_trace_ids *ids) {
  for (size_t i = 0; i < ids->n_ids; i++) {
    put_bytes(w, num, &ids->ids[i]);
  }
}

/* ControlIWantMeta and ControlIDontWantMeta: messageIDs = 1 */
static void put_id_lists(pb_writer *w, uint32_t num, const lp2p_trace_ids *l,
                         size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t body = open_message(w, num);
    put_ids(w, 1, &l[i]);
    close_message(w, body);
  }
}

static void put_control(pb_writer *w, const lp2p_trace_rpc_meta *m) {
  for (size_t i = 0; i < m->n_ihave; i++) {
    size_t body = open_message(w, 1);
    put_bytes(w, 1, &m->ihave[i].topic);
    put_ids(w, 2, &m->ihave[i].message_ids);
    close_message(w, body);
  }
  put_id_lists(w, 2, m->iwant, m->n_iwant);
  for (size_t i = 0; i < m->n_graft; i++) {
    size_t body = open_message(w, 3);
    put_bytes(w, 1, &m->graft[i]);
    close_message(w, body);
  }
  for (size_t i = 0; i < m->n_prune; i++) {
    size_t body = open_message(w, 4);
    put_bytes(w, 1, &m->prune[i].topic);
    put_ids(w, 2, &m->prune[i].peers);
    close_message(w, body);
  }
  put_id_lists(w, 5, m->idontwant, m->n_idontwant);
}

static void put_meta(pb_writer *w, uint32_t num, const lp2p_trace_rpc_meta *m) {
  size_t meta = open_message(w, num);
  for (size_t i = 0; i < m->n_messages; i++) {
    size_t body = open_message(w, 1);
    put_bytes(w, 1, &m->messages[i].message_id);
    put_bytes(w, 2, &m->messages[i].topic);
    close_message(w, body);
  }
  for (size_t i = 0; i < m->n_subscriptions; i++) {
    size_t body = open_message(w, 2);
    put_varint(w, 1, m->subscriptions[i].subscribe);
    put_bytes(w, 2, &m->subscriptions[i].topic);
    close_message(w, body);
  }
  if (m->has_control) {
    size_t control = open_message(w, 3);
    put_control(w, m);
    close_message(w, control);
  }
  close_message(w, meta);
}

static void put_payload(pb_writer *w, const lp2p__trace_payload *p) {
  size_t body = open_message(w, p->num);
  for (size_t i = 0; i < p->n_fields; i++) {
    const lp2p__trace_field *f = &p->fields[i];
    switch (f->kind) {
    case LP2P__TRACE_BYTES:
    case LP2P__TRACE_STRING:
      put_bytes(w, f->num, f->bytes);
      break;
    case LP2P__TRACE_INT64: /* int64: two's complement in 10 bytes */
      put_varint(w, f->num, (uint64_t)f->int64);
      break;
    case LP2P__TRACE_META:
      put_meta(w, f->num, f->meta);
      break;
    }
  }
  close_message(w, body);
}

int lp2p_trace_encode_pb(lp2p_buf *out, const lp2p_trace_event *ev) {
  lp2p__trace_payload p;
  int rv = lp2p__trace_payload_of(ev, &p);
  if (rv != 0) {
    return rv;
  }
  size_t start = out->len;
  pb_writer w = {out, 0};
  put_varint(&w, 1, (uint64_t)ev->type);
  put_bytes(&w, 2, &ev->peer_id);
  put_varint(&w, 3, (uint64_t)ev->timestamp);
  put_payload(&w, &p);
  if (w.err != 0 && out->data) {
    lp2p_buf_truncate(out, start);
  }
  return w.err;
}

int lp2p_trace_encode_delimited(lp2p_buf *out, const lp2p_trace_event *ev) {
  size_t start = out->len;
  int rv = lp2p_trace_encode_pb(out, ev);
  if (rv == 0) {
    /* the event is the body of a length-prefixed "message" */
    pb_writer w = {out, 0};
    close_message(&w, start);
    rv = w.err;
  }
  if (rv != 0 && out->data) {
    lp2p_buf_truncate(out, start);
  }
  return rv;
}
