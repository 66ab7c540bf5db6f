/* Per-peer outbound queues. Control (subscriptions and control entries) is
 * kept encoded, so that many small entries cost one buffer; data messages
 * are references to shared encoded messages. A pull assembles one RPC of
 * at most max_rpc_size bytes, control first, and frames it with its
 * varint length. Everything is bounded by the peer's queue_max_bytes and
 * queue_max_messages; what does not fit is dropped and counted. */
#include <string.h>

#include "base/mem.h"
#include "pb/wire.h"
#include "router.h"

void gs_queue_free(lp2p_router *r, gs_queue *q) {
  lp2p_buf_free(&q->subs);
  lp2p_buf_free(&q->ctl);
  for (size_t i = 0; i < q->len; i++) {
    gs_msg_unref(r, q->msgs[(q->head + i) % q->cap]);
  }
  lp2p_free(r->mem, q->msgs);
  memset(q, 0, sizeof(*q));
}

size_t gs_queue_bytes(const gs_queue *q) {
  return q->subs.len + q->ctl.len + q->msg_bytes;
}

static void ready_append(lp2p_router *r, gs_peer *p) {
  p->ready = true;
  p->ready_next = NULL;
  p->ready_prev = r->ready_tail;
  if (r->ready_tail) {
    r->ready_tail->ready_next = p;
  } else {
    r->ready_head = p;
  }
  r->ready_tail = p;
}

void gs_ready_unlink(lp2p_router *r, gs_peer *p) {
  if (!p->ready) {
    return;
  }
  *(p->ready_prev ? &p->ready_prev->ready_next : &r->ready_head) =
      p->ready_next;
  *(p->ready_next ? &p->ready_next->ready_prev : &r->ready_tail) =
      p->ready_prev;
  p->ready = false;
}

void gs_want_write(lp2p_router *r, gs_peer *p) {
  if (!p->ready) {
    ready_append(r, p);
  }
  if (r->cb.want_write) {
    r->cb.want_write(r, &p->id, p->user, r->user);
  }
}

/* Completes an append of `put_rv` to one of the peer's control buffers,
 * which grew from `before` bytes: undoes it when the queue is over its
 * bound, counts it in *sent otherwise, and wakes the host when the queue
 * was empty. */
static int control_added(lp2p_router *r, gs_peer *p, lp2p_buf *b, size_t before,
                         int put_rv, uint64_t *sent) {
  if (put_rv != 0) {
    return put_rv;
  }
  size_t total = gs_queue_bytes(&p->q);
  if (total > r->s.limits.queue_max_bytes) {
    lp2p_buf_truncate(b, before);
    r->st.queue_drop_control++;
    return 0;
  }
  if (sent) {
    (*sent)++;
  }
  if (total == b->len - before) {
    gs_want_write(r, p);
  }
  return 0;
}

int gs_queue_reserve_sub(gs_peer *p, const gs_topic *t) {
  /* a SubOpts entry: its own header, the bool, the topic field */
  size_t body = 2 + lp2p_pb_len_field_size(2, t->name_len);
  return lp2p_buf_reserve(&p->q.subs,
                          lp2p_pb_len_field_size(LP2P_RPC_SUBSCRIPTIONS, body));
}

int gs_queue_sub(lp2p_router *r, gs_peer *p, bool subscribe,
                 const gs_topic *t) {
  size_t before = p->q.subs.len;
  int rv = lp2p_rpc_put_sub(&p->q.subs, subscribe, t->name, t->name_len);
  return control_added(r, p, &p->q.subs, before, rv, NULL);
}

int gs_queue_graft(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  size_t before = p->q.ctl.len;
  int rv = lp2p_ctl_put_graft(&p->q.ctl, t->name, t->name_len);
  return control_added(r, p, &p->q.ctl, before, rv, &r->st.graft_sent);
}

/* The largest control entry that fits in one RPC: the control field's
 * own header takes at most 1 + 5 bytes (see plan_rpc). */
static size_t entry_room(const lp2p_router *r) {
  return r->s.limits.max_rpc_size - 6;
}

int gs_queue_prune(lp2p_router *r, gs_peer *p, const gs_topic *t,
                   uint64_t backoff_s, const lp2p_rpc_px *px, size_t npx) {
  size_t before = p->q.ctl.len;
  int rv;
  /* PX records are large: offer fewer peers rather than an entry that no
   * RPC can carry */
  for (;;) {
    rv =
        lp2p_ctl_put_prune(&p->q.ctl, t->name, t->name_len, backoff_s, px, npx);
    if (rv != 0 || npx == 0 || p->q.ctl.len - before <= entry_room(r)) {
      break;
    }
    lp2p_buf_truncate(&p->q.ctl, before);
    npx--;
  }
  return control_added(r, p, &p->q.ctl, before, rv, &r->st.prune_sent);
}

/* How many of `ids`, from the first, fit in one control entry of `field`
 * whose body also holds `fixed` bytes, ids being field `id_field`. */
static size_t ids_fitting(const lp2p_router *r, uint32_t field,
                          uint32_t id_field, size_t fixed,
                          const lp2p_bytes *ids, size_t n) {
  size_t body = fixed, k = 0;
  while (k < n) {
    size_t add = lp2p_pb_len_field_size(id_field, ids[k].len);
    if (lp2p_pb_len_field_size(field, body + add) > entry_room(r)) {
      break;
    }
    body += add;
    k++;
  }
  return k;
}

int gs_put_ihaves(const lp2p_router *r, lp2p_buf *b, const gs_topic *t,
                  const lp2p_bytes *ids, size_t n) {
  size_t fixed = lp2p_pb_len_field_size(1, t->name_len);
  while (n > 0) {
    size_t k = ids_fitting(r, LP2P_CTL_IHAVE, 2, fixed, ids, n);
    if (k == 0) {
      return LP2P_ERR_TOO_LARGE; /* not even one id fits beside the topic */
    }
    int rv = lp2p_ctl_put_ihave(b, t->name, t->name_len, ids, k);
    if (rv != 0) {
      return rv;
    }
    ids += k;
    n -= k;
  }
  return 0;
}

int gs_queue_encoded(lp2p_router *r, gs_peer *p, const uint8_t *ctl, size_t len,
                     uint64_t *sent) {
  size_t before = p->q.ctl.len;
  int rv = lp2p_buf_append(&p->q.ctl, ctl, len);
  return control_added(r, p, &p->q.ctl, before, rv, sent);
}

int gs_queue_ids(lp2p_router *r, gs_peer *p, uint32_t field,
                 const lp2p_bytes *ids, size_t n) {
  size_t before = p->q.ctl.len;
  int rv = 0;
  /* as many entries as it takes for each to fit in one RPC, as go splits
   * long id lists */
  while (rv == 0 && n > 0) {
    size_t k = ids_fitting(r, field, 1, 0, ids, n);
    if (k == 0) { /* an id longer than an RPC allows: it cannot be sent */
      r->st.queue_drop_control++;
      k = 1;
    } else {
      rv = lp2p_ctl_put_ids(&p->q.ctl, field, ids, k);
    }
    ids += k;
    n -= k;
  }
  if (rv != 0) {
    lp2p_buf_truncate(&p->q.ctl, before);
  }
  return control_added(r, p, &p->q.ctl, before, rv,
                       field == LP2P_CTL_IWANT ? &r->st.iwant_sent
                                               : &r->st.idontwant_sent);
}

static size_t publish_field_size(const gs_msg *m) {
  return m->publish_size;
}

int gs_queue_msg(lp2p_router *r, gs_peer *p, gs_msg *m) {
  gs_queue *q = &p->q;
  size_t size = publish_field_size(m);
  if (q->len >= r->s.limits.queue_max_messages ||
      gs_queue_bytes(q) + size > r->s.limits.queue_max_bytes) {
    r->st.queue_drop_messages++;
    return 0;
  }
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 8;
    gs_msg **msgs = lp2p_malloc(r->mem, cap * sizeof(*msgs));
    if (!msgs) {
      return LP2P_ERR_NOMEM;
    }
    for (size_t i = 0; i < q->len; i++) {
      msgs[i] = q->msgs[(q->head + i) % q->cap];
    }
    lp2p_free(r->mem, q->msgs);
    q->msgs = msgs;
    q->head = 0;
    q->cap = cap;
  }
  bool was_empty = gs_queue_bytes(q) == 0;
  q->msgs[(q->head + q->len++) % q->cap] = gs_msg_ref(m);
  q->msg_bytes += size;
  if (was_empty) {
    gs_want_write(r, p);
  }
  return 0;
}

/* The longest prefix of the encoded fields in `b` that fits `budget`
 * bytes. A single field larger than `max_field` can never be sent: it is
 * dropped by the caller when the prefix is empty. */
static size_t fitting_prefix(const lp2p_buf *b, size_t budget,
                             size_t *first_field) {
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  size_t used = 0;
  *first_field = 0;
  if (b->len <= budget) {
    return b->len; /* the common case: all of it, no need to parse */
  }
  lp2p_pb_reader_init(&rd, b->data, b->len);
  while (lp2p_pb_next(&rd, &f) == 1) {
    size_t end = (size_t)(rd.pos - b->data);
    if (*first_field == 0) {
      *first_field = end;
    }
    if (end > budget) {
      break;
    }
    used = end;
  }
  return used;
}

/* Removes the first `n` bytes of a buffer. */
static void consume(lp2p_buf *b, size_t n) {
  if (n) {
    memmove(b->data, b->data + n, b->len - n);
    lp2p_buf_truncate(b, b->len - n);
  }
}

typedef struct rpc_plan {
  size_t subs, ctl, nmsgs, body;
} rpc_plan;

/* Chooses what goes in the next RPC: subscriptions, then control, then
 * messages, within max_rpc_size and at most max_messages of them (the limit
 * a receiver with our settings decodes: more, and it would drop the whole
 * RPC as malformed). Fields too large for any RPC are dropped so that they
 * cannot block the queue. */
static void plan_rpc(lp2p_router *r, gs_queue *q, rpc_plan *pl) {
  size_t max = r->s.limits.max_rpc_size, first;
  /* the control field's own header takes at most 1 + 5 bytes */
  size_t room = max > 6 ? max - 6 : 0;
  memset(pl, 0, sizeof(*pl));
  pl->subs = fitting_prefix(&q->subs, room, &first);
  if (pl->subs == 0 && first) {
    consume(&q->subs, first);
    r->st.queue_drop_control++;
  }
  pl->ctl = fitting_prefix(&q->ctl, room - pl->subs, &first);
  if (pl->ctl == 0 && first && pl->subs == 0) {
    consume(&q->ctl, first);
    r->st.queue_drop_control++;
  }
  pl->body = pl->subs;
  if (pl->ctl) {
    pl->body += lp2p_pb_len_field_size(LP2P_RPC_CONTROL, pl->ctl);
  }
  while (pl->nmsgs < q->len && pl->nmsgs < r->s.limits.max_messages) {
    gs_msg *m = q->msgs[(q->head + pl->nmsgs) % q->cap];
    size_t size = publish_field_size(m);
    if (pl->body + size > max) {
      break;
    }
    pl->body += size;
    pl->nmsgs++;
  }
}

static gs_msg *pop_msg(gs_queue *q) {
  gs_msg *m = q->msgs[q->head];
  q->head = (q->head + 1) % q->cap;
  q->len--;
  q->msg_bytes -= publish_field_size(m);
  return m;
}

/* Writes a LEN field (tag, length, bytes) at `p`; returns the end. */
static uint8_t *put_field(uint8_t *p, uint32_t num, const uint8_t *data,
                          size_t len) {
  p = lp2p_pb_write_varint(p, (uint64_t)num << 3 | LP2P_PB_LEN);
  p = lp2p_pb_write_varint(p, len);
  if (len) {
    memcpy(p, data, len);
  }
  return p + len;
}

/* Writes the planned RPC, framed, into r->out: sized exactly up front,
 * then written in place. */
static int write_rpc(lp2p_router *r, gs_queue *q, const rpc_plan *pl) {
  lp2p_buf *out = &r->out;
  lp2p_buf_truncate(out, 0);
  if (lp2p_buf_reserve(out, LP2P_PB_VARINT_MAX + pl->body) != 0) {
    return LP2P_ERR_NOMEM;
  }
  uint8_t *p = lp2p_pb_write_varint(out->data, pl->body);
  if (pl->subs) {
    memcpy(p, q->subs.data, pl->subs);
    p += pl->subs;
  }
  for (size_t i = 0; i < pl->nmsgs; i++) {
    gs_msg *m = pop_msg(q);
    p = put_field(p, LP2P_RPC_PUBLISH, m->f.raw.data, m->f.raw.len);
    gs_msg_unref(r, m);
  }
  if (pl->ctl) {
    p = put_field(p, LP2P_RPC_CONTROL, q->ctl.data, pl->ctl);
  }
  out->len = (size_t)(p - out->data);
  consume(&q->subs, pl->subs);
  consume(&q->ctl, pl->ctl);
  return 0;
}

/* Drops the queued messages the peer said it does not want since they
 * were queued: with a slow link, an IDONTWANT often overtakes them. */
static void drop_unwanted(lp2p_router *r, gs_peer *p) {
  gs_queue *q = &p->q;
  size_t kept = 0, n = q->len;
  if (p->dontwant_beat == 0) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    gs_msg *m = q->msgs[(q->head + i) % q->cap];
    if (gs_dontwant_has(r, p, m->hash)) {
      q->msg_bytes -= publish_field_size(m);
      gs_msg_unref(r, m);
      r->st.idontwant_saved++;
    } else {
      q->msgs[(q->head + kept++) % q->cap] = m;
    }
  }
  q->len = kept;
}

ptrdiff_t gs_queue_pull(lp2p_router *r, gs_peer *p, const uint8_t **out) {
  gs_queue *q = &p->q;
  rpc_plan pl;
  drop_unwanted(r, p);
  do {
    if (gs_queue_bytes(q) == 0) {
      *out = NULL;
      return 0;
    }
    plan_rpc(r, q, &pl);
    if (pl.body == 0 && q->len) {
      /* the first message fits no RPC (an oversized field of control, if
       * any, was dropped by plan_rpc): drop it so the queue moves on */
      gs_msg_unref(r, pop_msg(q));
      r->st.queue_drop_messages++;
    }
  } while (pl.body == 0);
  int rv = write_rpc(r, q, &pl);
  if (rv != 0) {
    return rv;
  }
  r->st.rpcs_sent++;
  *out = r->out.data;
  return (ptrdiff_t)r->out.len;
}

ptrdiff_t lp2p_router_pull_next(lp2p_router *r, const lp2p_peer_id **peer,
                                void **peer_user, const uint8_t **out,
                                lp2p_tstamp now) {
  (void)now;
  while (r->ready_head) {
    gs_peer *p = r->ready_head;
    gs_ready_unlink(r, p);
    ptrdiff_t n = gs_queue_pull(r, p, out);
    if (n < 0) {
      ready_append(r, p); /* try it again later */
      return n;
    }
    if (n == 0) {
      continue; /* emptied by lp2p_router_pull meanwhile */
    }
    if (gs_queue_bytes(&p->q)) {
      ready_append(r, p); /* round robin: to the back of the line */
    }
    *peer = &p->id;
    *peer_user = p->user;
    return n;
  }
  *out = NULL;
  return 0;
}

bool lp2p_router_has_pending(const lp2p_router *r) {
  return r->ready_head != NULL;
}
