/* Per-peer outbound queues. Control entries are kept encoded, so that
 * many small entries cost one buffer, in kinds with bounds of their own:
 * IDONTWANTs (each pulled as its own RPC, as go sends them), then
 * subscriptions, GRAFT/PRUNE and gossip; data messages are references to
 * shared encoded messages, bounded by queue_max_bytes and
 * queue_max_messages. A pull assembles one RPC within what a receiver
 * with default limits accepts (r->send_limits), control first, and frames
 * it with its varint length; a message of a batch of ours goes alone in
 * its RPC, chosen when pulled (batch.c). What does not fit a bound is
 * dropped and counted.
 *
 * With a peer budget (lp2p_peer_info.budget), every byte that is the
 * peer's own is reserved in it first, and a refusal is a drop like any
 * bound's: its control, gossip and IDONTWANT entries, and for each
 * message its frame header and ring slot. A message body is one buffer
 * however many queues hold it, so it is charged once, to the router's
 * budget (settings.budget), while any queue holds it: charged per peer,
 * N peers that stop reading would charge N times what we hold and fill
 * the host's budget, refusing every peer's streams. queue_max_bytes
 * still counts whole messages per peer, to bound each queue. What leaves
 * the queue, pulled or dropped, is given back by settle() and
 * let_go(). */
#include <string.h>

#include "base/mem.h"
#include "batch.h"
#include "dontwant.h"
#include "message.h"
#include "partial.h"
#include "pb/wire.h"
#include "peer.h"
#include "queue.h"
#include "router.h"
#include "seen.h"
#include "topic.h"
#include "trace.h"

static void entries_init(lp2p_router *r, gs_entries *e) {
  memset(e, 0, sizeof(*e));
  lp2p_buf_init(&e->b, r->mem);
}

void lp2p_gs_queue_init(lp2p_router *r, gs_queue *q) {
  memset(q, 0, sizeof(*q));
  entries_init(r, &q->dontwant);
  entries_init(r, &q->subs);
  entries_init(r, &q->ctl);
  entries_init(r, &q->gossip);
  entries_init(r, &q->partial);
}

/* What of a queued message is the peer's alone: its frame header (tag
 * and length) and its slot in the ring. */
static size_t msg_own_size(const gs_msg *m) {
  return m->publish_size - m->f.raw.len + sizeof(gs_msg *);
}

/* A queue entry lets go of `m`: the last one gives its body back to the
 * router's budget. */
static void let_go(lp2p_router *r, gs_msg *m) {
  if (--m->queues == 0) {
    lp2p_budget_release(r->s.budget, m->f.raw.len);
  }
  lp2p_gs_msg_unref(r, m);
}

void lp2p_gs_queue_free(lp2p_router *r, gs_queue *q) {
  lp2p_budget_release(q->budget, q->charged);
  lp2p_buf_free(&q->dontwant.b);
  lp2p_buf_free(&q->subs.b);
  lp2p_buf_free(&q->ctl.b);
  lp2p_buf_free(&q->gossip.b);
  lp2p_buf_free(&q->partial.b);
  for (size_t i = 0; i < q->len; i++) {
    let_go(r, q->msgs[(q->head + i) % q->cap]);
  }
  lp2p_free(r->mem, q->msgs);
  memset(q, 0, sizeof(*q));
}

static size_t control_bytes(const gs_queue *q) {
  return q->subs.b.len + q->ctl.b.len;
}

static size_t entries_bytes(const gs_queue *q) {
  return q->dontwant.b.len + control_bytes(q) + q->gossip.b.len +
         q->partial.b.len;
}

/* An RPC holding only an empty RPC.testExtension: its 4-byte tag and a
 * zero length. */
#define TEST_EXT_RPC_SIZE 5

/* What the RPCs of write_rpc and write_idontwant would carry. */
static size_t rpc_bytes(const gs_queue *q) {
  return entries_bytes(q) + q->msg_bytes;
}

size_t lp2p_gs_queue_bytes(const gs_queue *q) {
  return rpc_bytes(q) + (q->test_ext_due ? TEST_EXT_RPC_SIZE : 0);
}

/* What the peer's budget holds for the queue once settled. */
static size_t own_bytes(const gs_queue *q) {
  return entries_bytes(q) + q->msg_own;
}

/* Reserves `n` more queued bytes in the peer's budget; false when it
 * refuses them, counting the `entries` the caller drops in
 * queue_drop_budget. The peer's score is untouched, as by any full queue
 * (as go: its score tracer ignores DropRPC). */
static bool charge(lp2p_router *r, gs_queue *q, size_t n, size_t entries) {
  if (!q->budget) {
    return true;
  }
  if (lp2p_budget_reserve(q->budget, n) != 0) {
    r->st.queue_drop_budget += entries;
    return false;
  }
  q->charged += n;
  return true;
}

/* Gives back to the budget what the queue no longer holds: called after
 * every pull and drop. */
static void settle(gs_queue *q) {
  size_t held = own_bytes(q);
  if (q->charged > held) {
    lp2p_budget_release(q->budget, q->charged - held);
    q->charged = held;
  }
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

void lp2p_gs_ready_unlink(lp2p_router *r, gs_peer *p) {
  if (!p->ready) {
    return;
  }
  *(p->ready_prev ? &p->ready_prev->ready_next : &r->ready_head) =
      p->ready_next;
  *(p->ready_next ? &p->ready_next->ready_prev : &r->ready_tail) =
      p->ready_prev;
  p->ready = false;
}

void lp2p_gs_want_write(lp2p_router *r, gs_peer *p) {
  if (!p->ready) {
    ready_append(r, p);
  }
  if (r->cb.want_write) {
    r->cb.want_write(r, &p->id, p->user, r->user);
  }
}

/* What entries count against a receiver's limits. */
typedef struct gs_counts {
  size_t n, ids, px;
} gs_counts;

/* The ids (IHAVE, IWANT, IDONTWANT) or PX records (PRUNE) of one encoded
 * control entry; a SubOpts (`ctl` false) or a GRAFT has neither. */
static gs_counts entry_counts(const lp2p_pb_field *f, bool ctl) {
  gs_counts c = {1, 0, 0};
  lp2p_pb_reader rd;
  lp2p_pb_field g;
  if (!ctl || f->num == LP2P_CTL_GRAFT) {
    return c;
  }
  /* ids are field 2 of IHAVE and 1 of IWANT and IDONTWANT; PX field 2 */
  uint32_t num = f->num == LP2P_CTL_IHAVE || f->num == LP2P_CTL_PRUNE ? 2 : 1;
  lp2p_pb_reader_init(&rd, f->data, f->len);
  while (lp2p_pb_next(&rd, &g) == 1) {
    if (g.num == num) {
      *(f->num == LP2P_CTL_PRUNE ? &c.px : &c.ids) += 1;
    }
  }
  return c;
}

/* The counts of encoded control entries (ours: well formed). */
static gs_counts buf_counts(const uint8_t *data, size_t len) {
  gs_counts c = {0, 0, 0};
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&rd, data, len);
  while (lp2p_pb_next(&rd, &f) == 1) {
    gs_counts e = entry_counts(&f, true);
    c.n++;
    c.ids += e.ids;
    c.px += e.px;
  }
  return c;
}

/* Completes an append of `put_rv` to `e`, which grew from `before` bytes
 * by entries counting `c`: undoes it when `e`'s kind is over its bound
 * (`used` bytes or entries of `max`) or the peer's budget refuses it,
 * counting it in *dropped, counts it in *sent otherwise, and wakes the
 * host when the queue was empty. */
static int entries_added(lp2p_router *r, gs_peer *p, gs_entries *e,
                         size_t before, int put_rv, gs_counts c, size_t used,
                         size_t max, uint64_t *dropped, uint64_t *sent) {
  if (put_rv != 0) {
    lp2p_buf_truncate(&e->b, before);
    return put_rv;
  }
  if (used > max || !charge(r, &p->q, e->b.len - before, c.n)) {
    if (r->trace) { /* as go's DropRPC: what the full queue refused */
      lp2p_gs_trace_rpc_bytes(r, LP2P_TRACE_DROP_RPC, &p->id,
                              e == &p->q.subs ? 0 : LP2P_RPC_CONTROL,
                              e->b.data + before, e->b.len - before);
    }
    lp2p_buf_truncate(&e->b, before);
    *dropped += c.n;
    return 0;
  }
  e->n += c.n;
  e->ids += c.ids;
  e->px += c.px;
  if (sent) {
    *sent += c.n;
  }
  if (lp2p_gs_queue_bytes(&p->q) == e->b.len - before) {
    lp2p_gs_want_write(r, p);
  }
  return 0;
}

/* Subscriptions, GRAFT and PRUNE share queue_max_control_bytes, apart
 * from data: as go retries them rather than lose them to a full queue. */
static int control_added(lp2p_router *r, gs_peer *p, gs_entries *e,
                         size_t before, int put_rv, gs_counts c,
                         uint64_t *sent) {
  return entries_added(r, p, e, before, put_rv, c, control_bytes(&p->q),
                       r->s.limits.queue_max_control_bytes,
                       &r->st.queue_drop_control, sent);
}

static int gossip_added(lp2p_router *r, gs_peer *p, size_t before, int put_rv,
                        gs_counts c, uint64_t *sent) {
  return entries_added(r, p, &p->q.gossip, before, put_rv, c, p->q.gossip.b.len,
                       r->s.limits.queue_max_gossip_bytes,
                       &r->st.queue_drop_gossip, sent);
}

int lp2p_gs_queue_reserve_sub(gs_peer *p, const gs_topic *t) {
  /* a SubOpts entry: its own header, the bools, the topic field */
  size_t body = 6 + lp2p_pb_len_field_size(2, t->name_len);
  return lp2p_buf_reserve(&p->q.subs.b,
                          lp2p_pb_len_field_size(LP2P_RPC_SUBSCRIPTIONS, body));
}

int lp2p_gs_queue_sub(lp2p_router *r, gs_peer *p, bool subscribe,
                      const gs_topic *t) {
  gs_counts c = {1, 0, 0};
  size_t before = p->q.subs.b.len;
  lp2p_rpc_sub s = {{t->name, t->name_len}, subscribe, false, false};
  if (subscribe) { /* the spec: ignored on an unsubscription */
    lp2p_gs_partial_sub_flags(t, &s);
  }
  int rv = lp2p_rpc_put_sub_partial(&p->q.subs.b, &s);
  return control_added(r, p, &p->q.subs, before, rv, c, NULL);
}

int lp2p_gs_queue_graft(lp2p_router *r, gs_peer *p, const gs_topic *t) {
  gs_counts c = {1, 0, 0};
  size_t before = p->q.ctl.b.len;
  int rv = lp2p_ctl_put_graft(&p->q.ctl.b, t->name, t->name_len);
  return control_added(r, p, &p->q.ctl, before, rv, c, &r->st.graft_sent);
}

/* The largest control entry that fits in one RPC: the control field's
 * own header takes at most 1 + 5 bytes (see plan_rpc). */
static size_t entry_room(const lp2p_router *r) {
  return r->s.limits.max_rpc_size - 6;
}

int lp2p_gs_queue_prune(lp2p_router *r, gs_peer *p, const gs_topic *t,
                        uint64_t backoff_s, const lp2p_rpc_px *px, size_t npx) {
  lp2p_buf *b = &p->q.ctl.b;
  size_t before = b->len;
  int rv;
  if (npx > r->send_limits.max_px) {
    npx = r->send_limits.max_px;
  }
  /* PX records are large: offer fewer peers rather than an entry that no
   * RPC can carry */
  for (;;) {
    rv = lp2p_ctl_put_prune(b, t->name, t->name_len, backoff_s, px, npx);
    if (rv != 0 || npx == 0 || b->len - before <= entry_room(r)) {
      break;
    }
    lp2p_buf_truncate(b, before);
    npx--;
  }
  gs_counts c = {1, 0, npx};
  return control_added(r, p, &p->q.ctl, before, rv, c, &r->st.prune_sent);
}

/* How many of `ids`, from the first and at most `max`, fit in one
 * control entry of `field` whose body also holds `fixed` bytes, ids being
 * field `id_field`. */
static size_t ids_fitting(const lp2p_router *r, uint32_t field,
                          uint32_t id_field, size_t fixed,
                          const lp2p_bytes *ids, size_t n, size_t max) {
  size_t body = fixed, k = 0;
  while (k < n && k < max) {
    size_t add = lp2p_pb_len_field_size(id_field, ids[k].len);
    if (lp2p_pb_len_field_size(field, body + add) > entry_room(r)) {
      break;
    }
    body += add;
    k++;
  }
  return k;
}

int lp2p_gs_put_ihaves(const lp2p_router *r, lp2p_buf *b, const gs_topic *t,
                       const lp2p_bytes *ids, size_t n) {
  size_t fixed = lp2p_pb_len_field_size(1, t->name_len);
  while (n > 0) {
    size_t k = ids_fitting(r, LP2P_CTL_IHAVE, 2, fixed, ids, n,
                           r->send_limits.max_ids);
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

int lp2p_gs_queue_encoded(lp2p_router *r, gs_peer *p, const uint8_t *ctl,
                          size_t len, uint64_t *sent) {
  size_t before = p->q.gossip.b.len;
  int rv = lp2p_buf_append(&p->q.gossip.b, ctl, len);
  return gossip_added(r, p, before, rv, buf_counts(ctl, len), sent);
}

/* Appends entries of `field` for `ids`, as many as it takes for each to
 * fit in one RPC and hold at most `max` ids, as go splits long id lists;
 * an id too long for any RPC is dropped and counted. */
static int put_id_entries(lp2p_router *r, lp2p_buf *b, uint32_t field,
                          const lp2p_bytes *ids, size_t n, size_t max,
                          gs_counts *c) {
  size_t before = b->len;
  int rv = 0;
  while (rv == 0 && n > 0) {
    size_t k = ids_fitting(r, field, 1, 0, ids, n, max);
    if (k == 0) {
      r->st.queue_drop_gossip++;
      k = 1;
    } else {
      rv = lp2p_ctl_put_ids(b, field, ids, k);
      c->n++;
      c->ids += k;
    }
    ids += k;
    n -= k;
  }
  if (rv != 0) {
    lp2p_buf_truncate(b, before);
  }
  return rv;
}

int lp2p_gs_queue_ids(lp2p_router *r, gs_peer *p, uint32_t field,
                      const lp2p_bytes *ids, size_t n) {
  gs_counts c = {0, 0, 0};
  size_t before = p->q.gossip.b.len;
  int rv = put_id_entries(r, &p->q.gossip.b, field, ids, n,
                          r->send_limits.max_ids, &c);
  return gossip_added(r, p, before, rv, c,
                      field == LP2P_CTL_IWANT ? &r->st.iwant_sent
                                              : &r->st.idontwant_sent);
}

void lp2p_gs_queue_drop_ihaves(lp2p_router *r, gs_peer *p) {
  gs_entries *e = &p->q.gossip;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  size_t kept = 0;
  gs_counts left = {0, 0, 0};
  lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
  for (const uint8_t *start = e->b.data; lp2p_pb_next(&rd, &f) == 1;
       start = rd.pos) {
    size_t len = (size_t)(rd.pos - start);
    if (f.num == LP2P_CTL_IHAVE) {
      r->st.queue_drop_gossip++;
      continue;
    }
    gs_counts c = entry_counts(&f, true);
    memmove(e->b.data + kept, start, len);
    kept += len;
    left.n += c.n;
    left.ids += c.ids;
  }
  lp2p_buf_truncate(&e->b, kept);
  e->n = left.n;
  e->ids = left.ids;
  settle(&p->q);
}

int lp2p_gs_put_idontwants(lp2p_router *r, lp2p_buf *b, const lp2p_bytes *ids,
                           size_t nids, size_t *n) {
  gs_counts c = {0, 0, 0};
  size_t max = (size_t)r->s.params.max_idontwant_length;
  if (max > r->send_limits.max_ids) {
    max = r->send_limits.max_ids;
  }
  int rv = put_id_entries(r, b, LP2P_CTL_IDONTWANT, ids, nids, max, &c);
  *n = rv == 0 ? c.n : 0;
  return rv;
}

int lp2p_gs_queue_idontwants(lp2p_router *r, gs_peer *p, const uint8_t *ctl,
                             size_t len, size_t n, size_t nids) {
  gs_entries *e = &p->q.dontwant;
  gs_counts c = {n, nids, 0};
  size_t before = e->b.len;
  int rv = lp2p_buf_append(&e->b, ctl, len);
  rv = entries_added(r, p, e, before, rv, c, e->n + n,
                     r->s.limits.queue_max_idontwant, &r->st.queue_drop_gossip,
                     &r->st.idontwant_sent);
  if (rv == 0 && e->b.len > before) {
    p->idontwant_ids_sent += nids;
  }
  return rv;
}

int lp2p_gs_queue_extensions(lp2p_router *r, gs_peer *p,
                             const lp2p_rpc_extensions *ext) {
  gs_counts c = {1, 0, 0};
  size_t before = p->q.ctl.b.len;
  int rv = lp2p_ctl_put_extensions(&p->q.ctl.b, ext);
  rv = control_added(r, p, &p->q.ctl, before, rv, c, NULL);
  /* nothing else is queued in `ctl` before it: it goes first */
  p->q.hello_due = rv == 0 && p->q.ctl.b.len > before;
  return rv;
}

void lp2p_gs_queue_test_extension(lp2p_router *r, gs_peer *p) {
  bool was_empty = lp2p_gs_queue_bytes(&p->q) == 0;
  p->q.test_ext_due = true;
  if (was_empty) {
    lp2p_gs_want_write(r, p);
  }
}

int lp2p_gs_queue_partial(lp2p_router *r, gs_peer *p,
                          const lp2p_rpc_partial *pm) {
  gs_entries *e = &p->q.partial;
  size_t before = e->b.len;
  if (lp2p_rpc_put_partial(&e->b, pm) != 0) {
    lp2p_buf_truncate(&e->b, before);
    return LP2P_ERR_NOMEM;
  }
  size_t len = e->b.len - before;
  /* parts are data: they share queue_max_bytes with the messages */
  if (len > r->s.limits.max_rpc_size ||
      p->q.msg_bytes + e->b.len > r->s.limits.queue_max_bytes ||
      !charge(r, &p->q, len, 1)) {
    lp2p_buf_truncate(&e->b, before);
    r->st.queue_drop_partial++;
    return 0;
  }
  e->n++;
  r->st.partial_sent++;
  if (lp2p_gs_queue_bytes(&p->q) == len) {
    lp2p_gs_want_write(r, p);
  }
  return 1;
}

static size_t publish_field_size(const gs_msg *m) {
  return m->publish_size;
}

int lp2p_gs_queue_reserve_msg(lp2p_router *r, gs_peer *p) {
  return lp2p_gs_queue_reserve_msgs(r, p, 1);
}

int lp2p_gs_queue_reserve_msgs(lp2p_router *r, gs_peer *p, size_t n) {
  gs_queue *q = &p->q;
  /* never beyond what the bound lets in: the rest would be dropped */
  size_t max = r->s.limits.queue_max_messages;
  size_t room = q->len < max ? max - q->len : 0;
  size_t want = q->len + (n < room ? n : room);
  if (want <= q->cap) {
    return 0;
  }
  size_t cap = q->cap ? q->cap * 2 : 8;
  while (cap < want) {
    cap *= 2;
  }
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
  return 0;
}

/* Reserves a new queue entry of `m`: its body in the router's budget
 * when no queue holds it yet, its own bytes in the peer's. False, counted
 * in queue_drop_budget, when either refuses. */
static bool charge_msg(lp2p_router *r, gs_queue *q, gs_msg *m) {
  bool first = m->queues == 0;
  if (first && lp2p_budget_reserve(r->s.budget, m->f.raw.len) != 0) {
    r->st.queue_drop_budget++;
    return false;
  }
  if (!charge(r, q, msg_own_size(m), 1)) {
    if (first) {
      lp2p_budget_release(r->s.budget, m->f.raw.len);
    }
    return false;
  }
  return true;
}

/* As go's DropRPC for a full queue: the RPC of the one message. */
static void trace_msg_drop(lp2p_router *r, const gs_peer *p, const gs_msg *m) {
  if (r->trace) {
    lp2p_gs_trace_rpc_bytes(r, LP2P_TRACE_DROP_RPC, &p->id, LP2P_RPC_PUBLISH,
                            m->f.raw.data, m->f.raw.len);
  }
}

static bool under_bounds(const lp2p_router *r, const gs_queue *q,
                         const gs_msg *m) {
  return q->len < r->s.limits.queue_max_messages &&
         q->msg_bytes + publish_field_size(m) <= r->s.limits.queue_max_bytes;
}

static void drop_msg(lp2p_router *r, const gs_peer *p, const gs_msg *m) {
  trace_msg_drop(r, p, m);
  r->st.queue_drop_messages++;
}

int lp2p_gs_queue_msg(lp2p_router *r, gs_peer *p, gs_msg *m) {
  gs_queue *q = &p->q;
  if (!under_bounds(r, q, m)) {
    drop_msg(r, p, m);
    return LP2P_ERR_TOO_LARGE;
  }
  if (lp2p_gs_queue_reserve_msg(r, p) != 0) {
    return LP2P_ERR_NOMEM;
  }
  if (!charge_msg(r, q, m)) {
    drop_msg(r, p, m);
    return LP2P_ERR_TOO_LARGE;
  }
  size_t size = publish_field_size(m);
  bool was_empty = lp2p_gs_queue_bytes(q) == 0;
  q->msgs[(q->head + q->len++) % q->cap] = lp2p_gs_msg_ref(m);
  q->msg_bytes += size;
  q->msg_own += msg_own_size(m);
  m->queues++;
  if (was_empty) {
    lp2p_gs_want_write(r, p);
  }
  return 0;
}

/* What is left of the next RPC's room: bytes, and the entries a receiver
 * counts (send_limits). */
typedef struct rpc_room {
  size_t bytes, subs, ctl, ids, px;
} rpc_room;

/* Does an RPC with room `rm` hold entries counting `c` in `bytes`, as
 * SubOpts (`ctl` false) or control entries? */
static bool fits(const rpc_room *rm, bool ctl, size_t bytes, gs_counts c) {
  return bytes <= rm->bytes && c.n <= (ctl ? rm->ctl : rm->subs) &&
         c.ids <= rm->ids && c.px <= rm->px;
}

static void room_take(rpc_room *rm, bool ctl, size_t bytes, gs_counts c) {
  rm->bytes -= bytes;
  *(ctl ? &rm->ctl : &rm->subs) -= c.n;
  rm->ids -= c.ids;
  rm->px -= c.px;
}

/* The longest prefix of `e` that fits the room left, taken from it into
 * *took (bytes) and *tc. The common case, all of it, parses nothing. */
static void take_prefix(const gs_entries *e, bool ctl, rpc_room *rm,
                        size_t *took, gs_counts *tc) {
  gs_counts all = {e->n, e->ids, e->px};
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  *took = 0;
  memset(tc, 0, sizeof(*tc));
  if (fits(rm, ctl, e->b.len, all)) {
    *took = e->b.len;
    *tc = all;
  } else {
    lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
    while (lp2p_pb_next(&rd, &f) == 1) {
      size_t end = (size_t)(rd.pos - e->b.data);
      gs_counts c = entry_counts(&f, ctl);
      c.n += tc->n;
      c.ids += tc->ids;
      c.px += tc->px;
      if (!fits(rm, ctl, end, c)) {
        break;
      }
      *took = end;
      *tc = c;
    }
  }
  room_take(rm, ctl, *took, *tc);
}

/* An emptied buffer larger than this is given back: a heartbeat's IHAVEs
 * grow each peer's gossip buffer to kilobytes that would otherwise stay
 * allocated between heartbeats (a third of a simulated node's memory). */
#define ENTRIES_KEEP 512

/* Removes the first `n` bytes, counting `c`, of queued entries. */
static void consume(gs_entries *e, size_t n, gs_counts c) {
  if (n) {
    if (n < e->b.len) {
      memmove(e->b.data, e->b.data + n, e->b.len - n);
      lp2p_buf_truncate(&e->b, e->b.len - n);
    } else if (e->b.cap > ENTRIES_KEEP) {
      lp2p_buf_free(&e->b);
    } else {
      lp2p_buf_truncate(&e->b, 0);
    }
    e->n -= c.n;
    e->ids -= c.ids;
    e->px -= c.px;
  }
}

/* Drops the first entry of `e`: too large for any RPC, it would block
 * the queue. */
static void drop_first(gs_entries *e, bool ctl, uint64_t *dropped) {
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
  if (lp2p_pb_next(&rd, &f) == 1) {
    consume(e, (size_t)(rd.pos - e->b.data), entry_counts(&f, ctl));
  } else {
    consume(e, e->b.len, (gs_counts){e->n, e->ids, e->px});
  }
  (*dropped)++;
}

typedef struct rpc_plan {
  size_t subs, ctl, gossip, nmsgs, body;
  gs_counts subs_c, ctl_c, gossip_c;
} rpc_plan;

/* A batch message goes alone in its RPC, chosen when pulled: the one of
 * the batch run at the head with the fewest copies pulled so far (batch.c),
 * so that each pull, the uplink's next write, gives the rarest message
 * one more copy. */
static void plan_batch_msg(lp2p_router *r, gs_queue *q, rpc_plan *pl) {
  lp2p_gs_batch_rarest_first(r, q);
  size_t size = publish_field_size(q->msgs[q->head]);
  if (pl->body + size <= r->send_limits.max_rpc_size) {
    pl->body += size;
    pl->nmsgs = 1;
  }
}

/* Chooses what goes in the next RPC: subscriptions, then GRAFT/PRUNE,
 * gossip, then messages, within max_rpc_size and the count limits of
 * send_limits (more, and a receiver with default limits would skip what
 * is over). */
static void plan_rpc(lp2p_router *r, gs_queue *q, rpc_plan *pl) {
  const lp2p_rpc_limits *l = &r->send_limits;
  size_t max = l->max_rpc_size;
  /* the control field's own header takes at most 1 + 5 bytes */
  rpc_room rm = {max > 6 ? max - 6 : 0, l->max_subscriptions, l->max_control,
                 l->max_ids, l->max_px};
  memset(pl, 0, sizeof(*pl));
  if (q->subs.n + q->ctl.n + q->gossip.n) { /* forwarding: mostly none */
    take_prefix(&q->subs, false, &rm, &pl->subs, &pl->subs_c);
    take_prefix(&q->ctl, true, &rm, &pl->ctl, &pl->ctl_c);
    take_prefix(&q->gossip, true, &rm, &pl->gossip, &pl->gossip_c);
  }
  pl->body = pl->subs;
  if (pl->ctl + pl->gossip) {
    pl->body += lp2p_pb_len_field_size(LP2P_RPC_CONTROL, pl->ctl + pl->gossip);
  }
  if (q->len && q->msgs[q->head]->batch_seq) {
    plan_batch_msg(r, q, pl);
    return;
  }
  /* messages outside batches, first in first out, up to the next batch */
  while (pl->nmsgs < q->len && pl->nmsgs < l->max_messages) {
    gs_msg *m = q->msgs[(q->head + pl->nmsgs) % q->cap];
    size_t size = publish_field_size(m);
    if (m->batch_seq || pl->body + size > max) {
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
  q->msg_own -= msg_own_size(m);
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
    memcpy(p, q->subs.b.data, pl->subs);
    p += pl->subs;
  }
  for (size_t i = 0; i < pl->nmsgs; i++) {
    gs_msg *m = pop_msg(q);
    m->batch_copies += m->batch_seq != 0;
    p = put_field(p, LP2P_RPC_PUBLISH, m->f.raw.data, m->f.raw.len);
    let_go(r, m);
  }
  if (pl->ctl + pl->gossip) {
    /* one ControlMessage: GRAFT/PRUNE entries, then gossip entries */
    p = lp2p_pb_write_varint(p, (uint64_t)LP2P_RPC_CONTROL << 3 | LP2P_PB_LEN);
    p = lp2p_pb_write_varint(p, pl->ctl + pl->gossip);
    if (pl->ctl) {
      memcpy(p, q->ctl.b.data, pl->ctl);
      p += pl->ctl;
    }
    if (pl->gossip) {
      memcpy(p, q->gossip.b.data, pl->gossip);
      p += pl->gossip;
    }
  }
  out->len = (size_t)(p - out->data);
  consume(&q->subs, pl->subs, pl->subs_c);
  consume(&q->ctl, pl->ctl, pl->ctl_c);
  consume(&q->gossip, pl->gossip, pl->gossip_c);
  return 0;
}

/* Did `p` send us the message of id hash `h`, first or as a copy? */
static bool peer_sent(const lp2p_router *r, const gs_peer *p, uint64_t h) {
  return lp2p_gs_seen_sent_by(lp2p_gs_seen_find(r, h), p->serial);
}

/* Did `p` send us every message an IDONTWANT entry (`f`, as queued)
 * names? Then it has them all and the entry tells it nothing. */
static bool idontwant_crossed(const lp2p_router *r, const gs_peer *p,
                              const lp2p_pb_field *f) {
  lp2p_pb_reader rd;
  lp2p_pb_field id;
  lp2p_pb_reader_init(&rd, f->data, f->len);
  while (lp2p_pb_next(&rd, &id) == 1) {
    if (id.num != 1 || id.wire_type != LP2P_PB_LEN) {
      continue; /* ControlIDontWant.messageIDs is field 1 */
    }
    uint64_t h = lp2p_gs_id_hash(r, id.data, id.len);
    if (!peer_sent(r, p, h)) {
      return false;
    }
  }
  return true;
}

/* Drops the first IDONTWANT entries for messages `p` sent us itself since
 * they were queued: as for crossed copies (drop_crossed), they are known
 * by the pull, and each would otherwise cost `p` a write of its own. */
static void drop_crossed_idontwants(lp2p_router *r, gs_peer *p) {
  gs_entries *e = &p->q.dontwant;
  while (e->n) {
    lp2p_pb_reader rd;
    lp2p_pb_field f;
    lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
    if (lp2p_pb_next(&rd, &f) != 1 || !idontwant_crossed(r, p, &f)) {
      return;
    }
    gs_counts c = entry_counts(&f, true);
    consume(e, (size_t)(rd.pos - e->b.data), c);
    r->st.idontwant_crossed += c.n;
    r->st.idontwant_sent -= c.n; /* counted when queued */
    p->idontwant_ids_sent -= c.ids;
  }
}

/* Writes the first queued IDONTWANT entry as an RPC of its own, as go
 * sends one per message batch on its priority queue. */
static int write_idontwant(lp2p_router *r, gs_queue *q) {
  gs_entries *e = &q->dontwant;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  /* the common case, one entry queued: all of it, no need to parse */
  size_t entry = e->b.len;
  gs_counts c = {e->n, e->ids, e->px};
  if (e->n > 1) {
    lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
    if (lp2p_pb_next(&rd, &f) == 1) { /* it is: we encoded it */
      entry = (size_t)(rd.pos - e->b.data);
      c = entry_counts(&f, true);
    }
  }
  size_t body = lp2p_pb_len_field_size(LP2P_RPC_CONTROL, entry);
  lp2p_buf *out = &r->out;
  lp2p_buf_truncate(out, 0);
  if (lp2p_buf_reserve(out, LP2P_PB_VARINT_MAX + body) != 0) {
    return LP2P_ERR_NOMEM;
  }
  uint8_t *p = lp2p_pb_write_varint(out->data, body);
  p = put_field(p, LP2P_RPC_CONTROL, e->b.data, entry);
  out->len = (size_t)(p - out->data);
  consume(e, entry, c);
  return 0;
}

/* Writes our TestExtension as an RPC of its own, as go sends it. */
static int write_test_extension(lp2p_router *r, gs_queue *q) {
  lp2p_buf *out = &r->out;
  lp2p_buf_truncate(out, 0);
  if (lp2p_buf_reserve(out, 1 + TEST_EXT_RPC_SIZE) != 0) {
    return LP2P_ERR_NOMEM;
  }
  uint8_t *p = lp2p_pb_write_varint(out->data, TEST_EXT_RPC_SIZE);
  p = lp2p_pb_write_varint(p, (uint64_t)LP2P_RPC_TEST_EXTENSION << 3 |
                                  LP2P_PB_LEN);
  *p++ = 0;
  out->len = (size_t)(p - out->data);
  q->test_ext_due = false;
  return 0;
}

/* Writes the first queued RPC.partial as an RPC of its own. */
static int write_partial(lp2p_router *r, gs_queue *q) {
  gs_entries *e = &q->partial;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  size_t entry = e->b.len;
  lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
  if (e->n > 1 && lp2p_pb_next(&rd, &f) == 1) { /* it is: we encoded it */
    entry = (size_t)(rd.pos - e->b.data);
  }
  lp2p_buf *out = &r->out;
  lp2p_buf_truncate(out, 0);
  if (lp2p_buf_reserve(out, LP2P_PB_VARINT_MAX + entry) != 0) {
    return LP2P_ERR_NOMEM;
  }
  uint8_t *p = lp2p_pb_write_varint(out->data, entry);
  memcpy(p, e->b.data, entry);
  out->len = (size_t)(p + entry - out->data);
  consume(e, entry, (gs_counts){1, 0, 0});
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
    if (lp2p_gs_dontwant_has(r, p, m->hash)) {
      q->msg_bytes -= publish_field_size(m);
      q->msg_own -= msg_own_size(m);
      let_go(r, m);
      r->st.idontwant_saved++;
      p->idontwant_saved++;
    } else {
      q->msgs[(q->head + kept++) % q->cap] = m;
    }
  }
  q->len = kept;
}

/* Did `p` send us `m` since we queued our copy for it? The node pulls
 * once it has read all its connections had, so a copy that came just
 * after ours was queued, or crossed it in flight, is known by then.
 * Never for a batch message: ours, which no peer sends back. */
static bool crossed(const lp2p_router *r, const gs_peer *p, const gs_msg *m) {
  return !m->batch_seq && peer_sent(r, p, m->hash);
}

/* Drops the copies `p` sent us itself among those the next RPC may carry
 * (the first max_messages, up to max_rpc_size): a backlog costs a seen
 * lookup per message sent, not per message queued at every pull. The
 * kept ones move toward the tail, so only they move, however long the
 * queue. */
static void drop_crossed(lp2p_router *r, gs_peer *p) {
  gs_queue *q = &p->q;
  const lp2p_rpc_limits *l = &r->send_limits;
  size_t w = 0, bytes = 0;
  if (q->len == 0) {
    return;
  }
  while (w < q->len && w < l->max_messages && bytes <= l->max_rpc_size) {
    bytes += publish_field_size(q->msgs[(q->head + w++) % q->cap]);
  }
  size_t at = w; /* the kept ones end up in [at, w) */
  for (size_t i = w; i-- > 0;) {
    gs_msg *m = q->msgs[(q->head + i) % q->cap];
    if (!crossed(r, p, m)) {
      q->msgs[(q->head + --at) % q->cap] = m;
      continue;
    }
    q->msg_bytes -= publish_field_size(m);
    q->msg_own -= msg_own_size(m);
    let_go(r, m);
    r->st.copies_crossed++;
  }
  q->head = (q->head + at) % q->cap;
  q->len -= at;
}

/* Drops what blocks a queue whose next RPC would be empty: the first
 * entry or message, too large for any RPC by itself. */
static void drop_blocking(lp2p_router *r, gs_queue *q) {
  if (q->subs.n) {
    drop_first(&q->subs, false, &r->st.queue_drop_control);
  } else if (q->ctl.n) {
    drop_first(&q->ctl, true, &r->st.queue_drop_control);
  } else if (q->gossip.n) {
    drop_first(&q->gossip, true, &r->st.queue_drop_gossip);
  } else if (q->len) {
    let_go(r, pop_msg(q));
    r->st.queue_drop_messages++;
  }
}

/* SEND_RPC for the RPC just pulled (framed in r->out): lp2p queues
 * entries and messages, not RPCs, so an RPC exists once pulled. */
static void trace_sent(lp2p_router *r, const gs_peer *p) {
  const uint8_t *pos = r->out.data, *end = r->out.data + r->out.len;
  uint64_t len;
  if (lp2p_pb_read_varint(&pos, end, &len) == 0 &&
      len == (uint64_t)(end - pos)) {
    lp2p_gs_trace_rpc_bytes(r, LP2P_TRACE_SEND_RPC, &p->id, 0, pos,
                            (size_t)len);
  }
}

/* What write_rpc's RPCs would carry: all but IDONTWANT and partial. */
static size_t plain_bytes(const gs_queue *q) {
  return control_bytes(q) + q->gossip.b.len + q->msg_bytes;
}

/* Writes the next RPC of subscriptions, control, gossip and messages;
 * when there is none (dropped as blocking), a queued RPC.partial; *none
 * when there is nothing at all. */
static int write_plain(lp2p_router *r, gs_queue *q, bool *none) {
  rpc_plan pl;
  do {
    if (plain_bytes(q) == 0) {
      *none = q->partial.n == 0;
      return *none ? 0 : write_partial(r, q);
    }
    plan_rpc(r, q, &pl);
    if (pl.body == 0) {
      drop_blocking(r, q);
    }
  } while (pl.body == 0);
  return write_rpc(r, q, &pl);
}

static ptrdiff_t queue_pull(lp2p_router *r, gs_peer *p, const uint8_t **out) {
  gs_queue *q = &p->q;
  bool none = false;
  int rv;
  drop_unwanted(r, p);
  drop_crossed(r, p);
  drop_crossed_idontwants(r, p);
  /* the stream's first RPC carries our ControlExtensions (hello_due):
   * nothing goes before it */
  q->hello_due = q->hello_due && rpc_bytes(q) > 0;
  if (q->test_ext_due && !q->hello_due) {
    rv = write_test_extension(r, q);
  } else if (q->dontwant.n && !q->hello_due) {
    rv = write_idontwant(r, q);
  } else if (q->partial.n && !q->hello_due &&
             q->subs.n + q->ctl.n + q->gossip.n == 0) {
    rv = write_partial(r, q); /* parts before messages: they are smaller */
  } else {
    rv = write_plain(r, q, &none);
    if (none) {
      *out = NULL;
      return 0;
    }
    q->hello_due = q->hello_due && rv != 0;
  }
  if (rv != 0) {
    return rv;
  }
  r->st.rpcs_sent++;
  if (r->trace) {
    trace_sent(r, p);
  }
  *out = r->out.data;
  return (ptrdiff_t)r->out.len;
}

ptrdiff_t lp2p_gs_queue_pull(lp2p_router *r, gs_peer *p, const uint8_t **out) {
  ptrdiff_t n = queue_pull(r, p, out);
  settle(&p->q); /* what it sent or dropped, even when it failed */
  return n;
}

ptrdiff_t lp2p_router_pull_next(lp2p_router *r, const lp2p_peer_id **peer,
                                void **peer_user, const uint8_t **out,
                                lp2p_tstamp now) {
  lp2p_gs_trace_clock(r, now);
  while (r->ready_head) {
    gs_peer *p = r->ready_head;
    lp2p_gs_ready_unlink(r, p);
    ptrdiff_t n = lp2p_gs_queue_pull(r, p, out);
    if (n < 0) {
      ready_append(r, p); /* try it again later */
      return n;
    }
    if (n == 0) {
      continue; /* emptied by lp2p_router_pull meanwhile */
    }
    if (lp2p_gs_queue_bytes(&p->q)) {
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
