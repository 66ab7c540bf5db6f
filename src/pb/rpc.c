#include "pb/rpc.h"

#include <string.h>

#include "base/mem.h"
#include "pb/wire.h"

void lp2p_rpc_init(lp2p_rpc *rpc, const lp2p_mem *mem) {
  memset(rpc, 0, sizeof(*rpc));
  rpc->mem = mem;
}

void lp2p_rpc_free(lp2p_rpc *rpc) {
  const lp2p_mem *mem = rpc->mem;
  lp2p_free(mem, rpc->subs.items);
  lp2p_free(mem, rpc->msgs.items);
  lp2p_free(mem, rpc->ihave.items);
  lp2p_free(mem, rpc->iwant.items);
  lp2p_free(mem, rpc->graft.items);
  lp2p_free(mem, rpc->prune.items);
  lp2p_free(mem, rpc->idontwant.items);
  lp2p_free(mem, rpc->ids.items);
  lp2p_free(mem, rpc->px.items);
  lp2p_rpc_init(rpc, mem);
}

/* Makes room for one more entry, doubling up to `limit` entries. */
static int grow(const lp2p_mem *mem, void **items, size_t *cap, size_t len,
                size_t size, size_t limit) {
  if (len >= limit) {
    return LP2P_ERR_TOO_LARGE;
  }
  if (len < *cap) {
    return 0;
  }
  size_t ncap = *cap ? *cap * 2 : 8;
  if (ncap > limit) {
    ncap = limit;
  }
  void *p = lp2p_reallocarray(mem, *items, ncap, size);
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  *items = p;
  *cap = ncap;
  return 0;
}

/* Appends `value` to array `arr` with at most `limit` entries, returning
 * from the enclosing function on failure. An entry past the limit is
 * skipped and counted in rpc->truncated: the rest of the RPC still counts
 * (as go truncates IHAVE at MaxIHaveLength rather than drop the RPC). */
#define PUSH(rpc, arr, limit, value)                                           \
  do {                                                                         \
    if ((arr).len >= (limit)) {                                                \
      (rpc)->truncated++;                                                      \
      break;                                                                   \
    }                                                                          \
    int rv_ = grow((rpc)->mem, (void **)&(arr).items, &(arr).cap, (arr).len,   \
                   sizeof(*(arr).items), (limit));                             \
    if (rv_ != 0) {                                                            \
      return rv_;                                                              \
    }                                                                          \
    (arr).items[(arr).len++] = (value);                                        \
  } while (0)

static lp2p_bytes view(const lp2p_pb_field *f) {
  /* a present empty field still gets a non-NULL pointer */
  static const uint8_t empty[1];
  lp2p_bytes b = {f->len ? f->data : empty, f->len};
  return b;
}

/* Checks the wire type of a known field. */
static int want(const lp2p_pb_field *f, uint8_t wire_type) {
  return f->wire_type == wire_type ? 0 : LP2P_ERR_WRONG_TYPE;
}

static int decode_sub(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                      const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_rpc_sub sub = {{NULL, 0}, false, false, false};
  int rv;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1 || f.num == LP2P_SUB_REQUESTS_PARTIAL ||
        f.num == LP2P_SUB_SUPPORTS_PARTIAL) {
      if ((rv = want(&f, LP2P_PB_VARINT)) != 0) {
        return rv;
      }
      *(f.num == 1                           ? &sub.subscribe
        : f.num == LP2P_SUB_REQUESTS_PARTIAL ? &sub.requests_partial
                                             : &sub.supports_partial) =
          f.value != 0;
    } else if (f.num == 2) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      sub.topic = view(&f);
    }
  }
  if (rv < 0) {
    return rv;
  }
  if (!sub.topic.data) {
    return LP2P_ERR_MALFORMED;
  }
  if (sub.topic.len > lim->max_topic_len) {
    return LP2P_ERR_TOO_LARGE;
  }
  PUSH(rpc, rpc->subs, lim->max_subscriptions, sub);
  return 0;
}

int lp2p_rpc_decode_message(const uint8_t *in, size_t len, lp2p_rpc_msg *m) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  memset(m, 0, sizeof(*m));
  m->raw.data = in;
  m->raw.len = len;
  lp2p_bytes *slot[] = {NULL,      &m->from,      &m->data, &m->seqno,
                        &m->topic, &m->signature, &m->key};
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num >= 1 && f.num <= 6) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      *slot[f.num] = view(&f);
    }
  }
  return rv < 0 ? rv : 0;
}

static int decode_msg(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                      const lp2p_rpc_limits *lim) {
  lp2p_rpc_msg m;
  int rv = lp2p_rpc_decode_message(outer->data, outer->len, &m);
  if (rv != 0) {
    return rv;
  }
  if (m.topic.len > lim->max_topic_len) {
    return LP2P_ERR_TOO_LARGE;
  }
  PUSH(rpc, rpc->msgs, lim->max_messages, m);
  return 0;
}

static int push_id(lp2p_rpc *rpc, const lp2p_pb_field *f,
                   const lp2p_rpc_limits *lim) {
  int rv = want(f, LP2P_PB_LEN);
  if (rv != 0) {
    return rv;
  }
  if (f->len > lim->max_id_len) {
    return LP2P_ERR_TOO_LARGE;
  }
  PUSH(rpc, rpc->ids, lim->max_ids, view(f));
  return 0;
}

/* IHAVE{topicID = 1, messageIDs = 2}, IWANT and IDONTWANT{messageIDs = 1}:
 * `topic_field` is 1 for IHAVE and 0 (none) for the others. */
static int decode_ids(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                      uint32_t topic_field, lp2p_rpc_ids *out,
                      const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  uint32_t id_field = topic_field ? 2 : 1;
  memset(out, 0, sizeof(*out));
  out->first = rpc->ids.len;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (topic_field && f.num == topic_field) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      if (f.len > lim->max_topic_len) {
        return LP2P_ERR_TOO_LARGE;
      }
      out->topic = view(&f);
    } else if (f.num == id_field && (rv = push_id(rpc, &f, lim)) != 0) {
      return rv;
    }
  }
  out->count = rpc->ids.len - out->first;
  return rv < 0 ? rv : 0;
}

/* GRAFT{topicID = 1}. */
static int decode_graft(const lp2p_pb_field *outer, lp2p_bytes *out,
                        const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_bytes topic = {NULL, 0};
  int rv;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      if (f.len > lim->max_topic_len) {
        return LP2P_ERR_TOO_LARGE;
      }
      topic = view(&f);
    }
  }
  *out = topic;
  return rv < 0 ? rv : 0;
}

static int decode_px(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                     const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_rpc_px px;
  int rv;
  memset(&px, 0, sizeof(px));
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1 || f.num == 2) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      *(f.num == 1 ? &px.peer_id : &px.record) = view(&f);
    }
  }
  if (rv < 0) {
    return rv;
  }
  PUSH(rpc, rpc->px, lim->max_px, px);
  return 0;
}

static int decode_prune(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                        lp2p_rpc_prune *out, const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_rpc_prune p;
  int rv;
  memset(&p, 0, sizeof(p));
  p.first_px = rpc->px.len;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
        return rv;
      }
      if (f.len > lim->max_topic_len) {
        return LP2P_ERR_TOO_LARGE;
      }
      p.topic = view(&f);
    } else if (f.num == 2) {
      if ((rv = want(&f, LP2P_PB_LEN)) != 0 ||
          (rv = decode_px(rpc, &f, lim)) != 0) {
        return rv;
      }
    } else if (f.num == 3) {
      if ((rv = want(&f, LP2P_PB_VARINT)) != 0) {
        return rv;
      }
      p.backoff = f.value;
    }
  }
  if (rv < 0) {
    return rv;
  }
  p.npx = rpc->px.len - p.first_px;
  *out = p;
  return 0;
}

/* Counts control entries against their shared limit. */
static size_t control_count(const lp2p_rpc *rpc) {
  return rpc->ihave.len + rpc->iwant.len + rpc->graft.len + rpc->prune.len +
         rpc->idontwant.len;
}

/* Decodes one control entry and keeps it, or, past max_control, checks
 * it all the same (a malformed entry still fails the RPC) and skips it
 * with the ids and PX it brought. */
static int decode_control_entry(lp2p_rpc *rpc, const lp2p_pb_field *f,
                                const lp2p_rpc_limits *lim) {
  union {
    lp2p_rpc_ids ids;
    lp2p_bytes graft;
    lp2p_rpc_prune prune;
  } e;
  size_t ids0 = rpc->ids.len, px0 = rpc->px.len, tr0 = rpc->truncated;
  int rv = want(f, LP2P_PB_LEN);
  if (rv != 0) {
    return rv;
  }
  uint32_t topic_field = f->num == LP2P_CTL_IHAVE ? 1u : 0u;
  rv = f->num == LP2P_CTL_GRAFT ? decode_graft(f, &e.graft, lim)
       : f->num == LP2P_CTL_PRUNE
           ? decode_prune(rpc, f, &e.prune, lim)
           : decode_ids(rpc, f, topic_field, &e.ids, lim);
  if (rv != 0) {
    return rv;
  }
  if (control_count(rpc) >= lim->max_control) {
    rpc->ids.len = ids0;
    rpc->px.len = px0;
    rpc->truncated = tr0 + 1;
    return 0;
  }
  switch (f->num) {
  case LP2P_CTL_IHAVE:
    PUSH(rpc, rpc->ihave, lim->max_control, e.ids);
    break;
  case LP2P_CTL_IWANT:
    PUSH(rpc, rpc->iwant, lim->max_control, e.ids);
    break;
  case LP2P_CTL_IDONTWANT:
    PUSH(rpc, rpc->idontwant, lim->max_control, e.ids);
    break;
  case LP2P_CTL_GRAFT:
    PUSH(rpc, rpc->graft, lim->max_control, e.graft);
    break;
  default:
    PUSH(rpc, rpc->prune, lim->max_control, e.prune);
  }
  return 0;
}

/* ControlExtensions: bools; unknown extensions are skipped, as v1.3
 * requires. */
static int decode_extensions(lp2p_rpc *rpc, const lp2p_pb_field *outer) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  rpc->has_extensions = true;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != LP2P_EXT_PARTIAL_MESSAGES && f.num != LP2P_EXT_TEST) {
      continue;
    }
    if ((rv = want(&f, LP2P_PB_VARINT)) != 0) {
      return rv;
    }
    *(f.num == LP2P_EXT_TEST ? &rpc->ext.test_extension
                             : &rpc->ext.partial_messages) = f.value != 0;
  }
  return rv < 0 ? rv : 0;
}

/* A message whose fields are all unknown to us (TestExtension): checked
 * to be well formed, as any embedded message. */
static int check_opaque(const lp2p_pb_field *outer) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
  }
  return rv;
}

/* PartialMessagesExtension: four bytes fields merged into rpc->partial
 * (a later occurrence of RPC.partial replaces only the fields it has). */
static int decode_partial(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                          const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  lp2p_rpc_partial *pm = &rpc->partial;
  lp2p_bytes *slot[] = {NULL, &pm->topic, &pm->group, &pm->message,
                        &pm->metadata};
  rpc->has_partial = true;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num < LP2P_PARTIAL_TOPIC || f.num > LP2P_PARTIAL_METADATA) {
      continue;
    }
    if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
      return rv;
    }
    if ((f.num == LP2P_PARTIAL_TOPIC && f.len > lim->max_topic_len) ||
        (f.num == LP2P_PARTIAL_GROUP && f.len > lim->max_id_len)) {
      return LP2P_ERR_TOO_LARGE;
    }
    *slot[f.num] = view(&f);
  }
  return rv < 0 ? rv : 0;
}

static int decode_control(lp2p_rpc *rpc, const lp2p_pb_field *outer,
                          const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  lp2p_pb_reader_init(&r, outer->data, outer->len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    int erv = 0; /* later fields are skipped */
    if (f.num >= LP2P_CTL_IHAVE && f.num <= LP2P_CTL_IDONTWANT) {
      erv = decode_control_entry(rpc, &f, lim);
    } else if (f.num == LP2P_CTL_EXTENSIONS) {
      erv = want(&f, LP2P_PB_LEN);
      erv = erv ? erv : decode_extensions(rpc, &f);
    }
    if (erv != 0) {
      return erv;
    }
  }
  return rv < 0 ? rv : 0;
}

static void reset(lp2p_rpc *rpc) {
  rpc->subs.len = rpc->msgs.len = rpc->ihave.len = rpc->iwant.len = 0;
  rpc->graft.len = rpc->prune.len = rpc->idontwant.len = 0;
  rpc->ids.len = rpc->px.len = 0;
  rpc->truncated = 0;
  rpc->has_extensions = rpc->test_extension = rpc->has_partial = false;
  memset(&rpc->ext, 0, sizeof(rpc->ext));
  memset(&rpc->partial, 0, sizeof(rpc->partial));
}

int lp2p_rpc_decode(lp2p_rpc *rpc, const uint8_t *in, size_t len,
                    const lp2p_rpc_limits *lim) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rv;
  reset(rpc);
  if (len > lim->max_rpc_size) {
    return LP2P_ERR_TOO_LARGE;
  }
  lp2p_pb_reader_init(&r, in, len);
  while ((rv = lp2p_pb_next(&r, &f)) == 1) {
    bool known =
        (f.num >= LP2P_RPC_SUBSCRIPTIONS && f.num <= LP2P_RPC_CONTROL) ||
        f.num == LP2P_RPC_TEST_EXTENSION || f.num == LP2P_RPC_PARTIAL;
    if (!known) {
      continue;
    }
    if ((rv = want(&f, LP2P_PB_LEN)) != 0) {
      break;
    }
    if (f.num == LP2P_RPC_TEST_EXTENSION) {
      rpc->test_extension = true;
      rv = check_opaque(&f);
    } else if (f.num == LP2P_RPC_PARTIAL) {
      rv = decode_partial(rpc, &f, lim);
    } else {
      rv = f.num == LP2P_RPC_SUBSCRIPTIONS ? decode_sub(rpc, &f, lim)
           : f.num == LP2P_RPC_PUBLISH     ? decode_msg(rpc, &f, lim)
                                           : decode_control(rpc, &f, lim);
    }
    if (rv != 0) {
      break;
    }
  }
  if (rv < 0) {
    reset(rpc);
    return rv;
  }
  return 0;
}

/* ---- encoding ----------------------------------------------------------- */

int lp2p_rpc_put_message_body(lp2p_buf *b, const lp2p_rpc_msg *m) {
  const lp2p_bytes *fields[] = {&m->from,  &m->data,      &m->seqno,
                                &m->topic, &m->signature, &m->key};
  size_t start = b->len;
  for (uint32_t i = 0; i < 6; i++) {
    if (fields[i]->data &&
        lp2p_pb_put_bytes(b, i + 1, fields[i]->data, fields[i]->len) != 0) {
      lp2p_buf_truncate(b, start);
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

int lp2p_rpc_put_sub(lp2p_buf *b, bool subscribe, const uint8_t *topic,
                     size_t topic_len) {
  lp2p_rpc_sub sub = {{topic, topic_len}, subscribe, false, false};
  return lp2p_rpc_put_sub_partial(b, &sub);
}

int lp2p_rpc_put_sub_partial(lp2p_buf *b, const lp2p_rpc_sub *s) {
  size_t start = b->len;
  size_t body = 2 + lp2p_pb_len_field_size(2, s->topic.len) +
                (s->requests_partial ? 2u : 0u) +
                (s->supports_partial ? 2u : 0u);
  int rv = lp2p_pb_put_len_header(b, LP2P_RPC_SUBSCRIPTIONS, body);
  if (rv == 0) {
    rv = lp2p_pb_put_varint(b, 1, s->subscribe);
  }
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(b, 2, s->topic.data, s->topic.len);
  }
  if (rv == 0 && s->requests_partial) {
    rv = lp2p_pb_put_varint(b, LP2P_SUB_REQUESTS_PARTIAL, 1);
  }
  if (rv == 0 && s->supports_partial) {
    rv = lp2p_pb_put_varint(b, LP2P_SUB_SUPPORTS_PARTIAL, 1);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

int lp2p_rpc_put_partial(lp2p_buf *b, const lp2p_rpc_partial *pm) {
  const lp2p_bytes *fields[] = {&pm->topic, &pm->group, &pm->message,
                                &pm->metadata};
  size_t start = b->len, body = 0;
  for (uint32_t i = 0; i < 4; i++) {
    if (fields[i]->data) {
      body += lp2p_pb_len_field_size(i + 1, fields[i]->len);
    }
  }
  int rv = lp2p_pb_put_len_header(b, LP2P_RPC_PARTIAL, body);
  for (uint32_t i = 0; rv == 0 && i < 4; i++) {
    if (fields[i]->data) {
      rv = lp2p_pb_put_bytes(b, i + 1, fields[i]->data, fields[i]->len);
    }
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

int lp2p_rpc_put_publish(lp2p_buf *b, const uint8_t *msg, size_t msg_len) {
  return lp2p_pb_put_bytes(b, LP2P_RPC_PUBLISH, msg, msg_len);
}

static size_t ids_size(uint32_t field, const lp2p_bytes *ids, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    total += lp2p_pb_len_field_size(field, ids[i].len);
  }
  return total;
}

static int put_ids(lp2p_buf *b, uint32_t field, const lp2p_bytes *ids,
                   size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (lp2p_pb_put_bytes(b, field, ids[i].data, ids[i].len) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

int lp2p_ctl_put_ihave(lp2p_buf *b, const uint8_t *topic, size_t topic_len,
                       const lp2p_bytes *ids, size_t n) {
  size_t start = b->len;
  size_t body = lp2p_pb_len_field_size(1, topic_len) + ids_size(2, ids, n);
  int rv = lp2p_pb_put_len_header(b, LP2P_CTL_IHAVE, body);
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(b, 1, topic, topic_len);
  }
  if (rv == 0) {
    rv = put_ids(b, 2, ids, n);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

int lp2p_ctl_put_ids(lp2p_buf *b, uint32_t field, const lp2p_bytes *ids,
                     size_t n) {
  size_t start = b->len;
  int rv = lp2p_pb_put_len_header(b, field, ids_size(1, ids, n));
  if (rv == 0) {
    rv = put_ids(b, 1, ids, n);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

int lp2p_ctl_put_graft(lp2p_buf *b, const uint8_t *topic, size_t topic_len) {
  size_t start = b->len;
  int rv = lp2p_pb_put_len_header(b, LP2P_CTL_GRAFT,
                                  lp2p_pb_len_field_size(1, topic_len));
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(b, 1, topic, topic_len);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

static size_t px_size(const lp2p_rpc_px *px) {
  size_t n = 0;
  if (px->peer_id.data) {
    n += lp2p_pb_len_field_size(1, px->peer_id.len);
  }
  if (px->record.data) {
    n += lp2p_pb_len_field_size(2, px->record.len);
  }
  return n;
}

static int put_px(lp2p_buf *b, const lp2p_rpc_px *px) {
  int rv = lp2p_pb_put_len_header(b, 2, px_size(px));
  if (rv == 0 && px->peer_id.data) {
    rv = lp2p_pb_put_bytes(b, 1, px->peer_id.data, px->peer_id.len);
  }
  if (rv == 0 && px->record.data) {
    rv = lp2p_pb_put_bytes(b, 2, px->record.data, px->record.len);
  }
  return rv;
}

int lp2p_ctl_put_prune(lp2p_buf *b, const uint8_t *topic, size_t topic_len,
                       uint64_t backoff, const lp2p_rpc_px *px, size_t npx) {
  size_t start = b->len;
  size_t body = lp2p_pb_len_field_size(1, topic_len);
  for (size_t i = 0; i < npx; i++) {
    body += lp2p_pb_len_field_size(2, px_size(&px[i]));
  }
  if (backoff) {
    body += 1 + lp2p_pb_varint_size(backoff);
  }
  int rv = lp2p_pb_put_len_header(b, LP2P_CTL_PRUNE, body);
  if (rv == 0) {
    rv = lp2p_pb_put_bytes(b, 1, topic, topic_len);
  }
  for (size_t i = 0; rv == 0 && i < npx; i++) {
    rv = put_px(b, &px[i]);
  }
  if (rv == 0 && backoff) {
    rv = lp2p_pb_put_varint(b, 3, backoff);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

/* A bool field set to true: its tag and a one-byte 1. */
static size_t true_field_size(uint32_t num) {
  return lp2p_pb_varint_size((uint64_t)num << 3) + 1;
}

int lp2p_ctl_put_extensions(lp2p_buf *b, const lp2p_rpc_extensions *e) {
  size_t start = b->len;
  size_t body =
      (e->partial_messages ? true_field_size(LP2P_EXT_PARTIAL_MESSAGES) : 0) +
      (e->test_extension ? true_field_size(LP2P_EXT_TEST) : 0);
  int rv = lp2p_pb_put_len_header(b, LP2P_CTL_EXTENSIONS, body);
  if (rv == 0 && e->partial_messages) {
    rv = lp2p_pb_put_varint(b, LP2P_EXT_PARTIAL_MESSAGES, 1);
  }
  if (rv == 0 && e->test_extension) {
    rv = lp2p_pb_put_varint(b, LP2P_EXT_TEST, 1);
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, start);
  }
  return rv;
}

int lp2p_rpc_put_test_extension(lp2p_buf *b) {
  return lp2p_pb_put_len_header(b, LP2P_RPC_TEST_EXTENSION, 0);
}

int lp2p_rpc_put_control(lp2p_buf *b, const uint8_t *ctl, size_t ctl_len) {
  return lp2p_pb_put_bytes(b, LP2P_RPC_CONTROL, ctl, ctl_len);
}
