/* Messages from peers: the checks that drop or reject them, duplicate
 * detection, IDONTWANT to the mesh before validation, validation (sync or
 * not) and forwarding of accepted messages. */
#include <string.h>

#include "base/mem.h"
#include "dontwant.h"
#include "mcache.h"
#include "message.h"
#include "partial.h"
#include "peer.h"
#include "queue.h"
#include "relay.h"
#include "router.h"
#include "score.h"
#include "seen.h"
#include "topic.h"
#include "trace.h"
#include "validation.h"

/* Drops the spilled senders that have left (serials are never reused):
 * the live ones are at most the peer count, which bounds the spill. */
static void spill_compact(lp2p_router *r, gs_seen_spill *s) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    if (lp2p_gs_peer_find_serial(r, s->serials[i])) {
      s->serials[n++] = s->serials[i];
    }
  }
  s->n = n;
}

/* Makes room for one more spilled sender; false when out of memory. The
 * spill holds at most max_peers: past that, senders that left go. */
static bool spill_room(lp2p_router *r, gs_seen *e) {
  gs_seen_spill *s = e->spill;
  size_t max = r->s.limits.max_peers < UINT32_MAX / 2 ? r->s.limits.max_peers
                                                      : UINT32_MAX / 2;
  if (s && s->n < s->cap) {
    return true;
  }
  if (s && s->cap >= max) {
    spill_compact(r, s);
    return s->n < s->cap;
  }
  size_t cap = s ? (size_t)s->cap * 2 : GS_SEEN_PEERS;
  cap = cap < max ? cap : max;
  s = lp2p_reallocarray(r->mem, e->spill, 1,
                        sizeof(*s) + cap * sizeof(s->serials[0]));
  if (!s) {
    return false;
  }
  if (!e->spill) {
    s->n = 0;
  }
  s->cap = (uint32_t)cap;
  e->spill = s;
  return true;
}

/* Remembers that the peer of `serial` sent a copy. Out of memory, it is
 * forgotten: its next copy may earn the credit this one did. */
static void record_sender(lp2p_router *r, gs_seen *e, uint32_t serial) {
  if (e->npeers < GS_SEEN_PEERS) {
    e->peers[e->npeers++] = serial;
  } else if (spill_room(r, e)) {
    e->spill->serials[e->spill->n++] = serial;
  }
}

static void settle_copy(lp2p_router *r, uint32_t serial, const gs_topic *t,
                        bool invalid, lp2p_tstamp now) {
  gs_peer *p = lp2p_gs_peer_find_serial(r, serial);
  if (!p) {
    return;
  }
  if (invalid) {
    lp2p_gs_score_invalid(r, p, t);
  } else {
    lp2p_gs_score_duplicate(r, p, t, 0, now);
  }
}

/* Scores the peers whose copies came while the message was validated,
 * now that it is known to be valid (`invalid` false) or not. */
static void settle_copies(lp2p_router *r, const gs_seen *e, const gs_topic *t,
                          bool invalid, lp2p_tstamp now) {
  for (uint8_t i = 0; i < e->npeers; i++) {
    settle_copy(r, e->peers[i], t, invalid, now);
  }
  for (uint32_t i = 0; e->spill && i < e->spill->n; i++) {
    settle_copy(r, e->spill->serials[i], t, invalid, now);
  }
}

/* Should `p` get a copy of `m` on `t`? Mesh peers when we joined, direct
 * peers subscribed to the topic, and floodsub peers subscribed to it at or
 * above the publish threshold (as go, whose Publish forwards too). */
static bool relay_target(const lp2p_router *r, const gs_topic *t,
                         const gs_peer *p) {
  if (p->direct || lp2p_gs_peers_has(&t->mesh, p)) {
    return true;
  }
  return !lp2p_gs_peer_is_mesh(p->proto) &&
         lp2p_gs_score(r, p) >= r->score.p.thresholds.publish;
}

/* The peers to look at: without floodsub and direct peers, the mesh is
 * all of them, and a dozen peers are visited instead of every
 * subscriber (each a cache miss in a large simulation). */
static const gs_peers *relay_candidates(const lp2p_router *r,
                                        const gs_topic *t) {
  return r->nrelay_all ? &t->peers : &t->mesh;
}

size_t lp2p_gs_forward(lp2p_router *r, gs_msg *m, gs_topic *t, uint32_t from,
                       const gs_seen *e) {
  gs_peer *author = NULL;
  lp2p_peer_id aid;
  size_t n = 0;
  if (m->f.from.data &&
      lp2p_peer_id_from_bytes(m->f.from.data, m->f.from.len, &aid) == 0) {
    author = lp2p_gs_peer_find(r, &aid);
  }
  const gs_dontwant *unwanted = lp2p_gs_dontwant_find(r, m->hash);
  const gs_peers *cand = relay_candidates(r, t);
  for (size_t i = 0; i < cand->len; i++) {
    gs_peer *p = cand->items[i];
    if (p->serial == from || p == author ||
        lp2p_gs_seen_sent_by(e, p->serial) ||
        (cand == &t->peers && !relay_target(r, t, p))) {
      continue;
    }
    if (lp2p_gs_dontwant_lists(unwanted, p->serial)) {
      r->st.idontwant_saved++;
      p->idontwant_saved++;
      continue;
    }
    if (lp2p_gs_partial_wants_parts(t, p)) {
      continue; /* as go: a peer that asked for parts gets no full message */
    }
    if (lp2p_gs_queue_msg(r, p, m) == 0) {
      n++;
    }
  }
  r->st.msgs_forwarded += n;
  return n;
}

static void trace_msg(lp2p_router *r, lp2p_trace_type type, const gs_msg *m,
                      const lp2p_peer_id *from, const char *reason) {
  if (r->trace) {
    lp2p_bytes id = {lp2p_gs_msg_id(m), m->id_len};
    lp2p_gs_trace_msg(r, type, &id, &m->f.topic, from, reason);
  }
}

void lp2p_gs_validation_done(lp2p_router *r, gs_msg *m, gs_seen *e,
                             const lp2p_peer_id *from, lp2p_validation res,
                             lp2p_tstamp now) {
  gs_topic *t = lp2p_gs_topic_find(r, m->f.topic.data, m->f.topic.len);
  gs_peer *src = lp2p_gs_peer_find(r, from);
  if (res != LP2P_VALIDATION_ACCEPT) {
    trace_msg(r, LP2P_TRACE_REJECT_MESSAGE, m, from,
              res == LP2P_VALIDATION_REJECT
                  ? LP2P_TRACE_REJECT_VALIDATION_FAILED
                  : LP2P_TRACE_REJECT_VALIDATION_IGNORED);
  }
  if (res == LP2P_VALIDATION_REJECT) {
    r->st.msgs_rejected++;
    e->status = GS_INVALID;
    if (src) {
      lp2p_gs_score_invalid(r, src, t);
    }
    settle_copies(r, e, t, true, now);
    return;
  }
  if (res != LP2P_VALIDATION_ACCEPT) {
    r->st.msgs_ignored++;
    e->status = GS_IGNORED;
    return;
  }
  e->status = GS_VALID;
  e->validated = now;
  if (src) {
    lp2p_gs_score_first(r, src, t);
  }
  settle_copies(r, e, t, false, now);
  if (!t || !t->joined) {
    return; /* we left the topic while it was validated */
  }
  /* out of memory here only costs IWANT answers for this message */
  lp2p_gs_mcache_put(r, m);
  trace_msg(r, LP2P_TRACE_DELIVER_MESSAGE, m, from, NULL);
  if (r->cb.deliver) {
    lp2p_message view;
    lp2p_gs_msg_view(m, from, &view);
    r->st.msgs_delivered++;
    r->cb.deliver(r, &view, r->user);
  }
  lp2p_gs_forward(r, m, t, src ? src->serial : 0, e);
}

/* A large message first seen in the RPC being handled is held (a
 * reference) until the RPC is handled; IDONTWANT for it goes out then,
 * before anything of ours is pulled, so still ahead of the copies we
 * forward. */
static void idw_add(lp2p_router *r, gs_msg *m) {
  if (r->nidw == r->cap_idw) {
    size_t cap = r->cap_idw ? r->cap_idw * 2 : 16;
    gs_msg **a = lp2p_reallocarray(r->mem, r->idw, cap, sizeof(*a));
    if (!a) {
      return; /* out of memory: the peers send a copy we did not need */
    }
    r->idw = a;
    r->cap_idw = cap;
  }
  r->idw[r->nidw++] = lp2p_gs_msg_ref(m);
}

void lp2p_gs_idw_free(lp2p_router *r) {
  for (size_t i = 0; i < r->nidw; i++) {
    lp2p_gs_msg_unref(r, r->idw[i]);
  }
  lp2p_free(r->mem, r->idw);
}

/* IDONTWANT for `ids` to the mesh peers of `t` that speak meshsub 1.2
 * except `from`: as go, for each RPC received, each peer gets an RPC of
 * its own per topic, of at most max_idontwant_length ids (go reads no
 * more) and never merged behind other control or data. */
static void send_idontwant(lp2p_router *r, const gs_topic *t,
                           const gs_peer *from, const lp2p_bytes *ids,
                           size_t n) {
  lp2p_buf *ctl = &r->ctl_scratch;
  size_t nentries;
  lp2p_buf_truncate(ctl, 0);
  if (lp2p_gs_put_idontwants(r, ctl, ids, n, &nentries) != 0) {
    return; /* out of memory: the peers send copies we did not need */
  }
  for (size_t i = 0; i < t->mesh.len && nentries; i++) {
    gs_peer *p = t->mesh.items[i];
    /* as go: none to a peer that sends us parts, which we asked for */
    if (p != from && p->proto >= LP2P_MESHSUB_12 &&
        !lp2p_gs_partial_skips_idontwant(t, p)) {
      lp2p_gs_queue_idontwants(r, p, ctl->data, ctl->len, nentries, n);
    }
  }
}

static bool same_topic(const gs_msg *a, const gs_msg *b) {
  return a->f.topic.len == b->f.topic.len &&
         memcmp(a->f.topic.data, b->f.topic.data, a->f.topic.len) == 0;
}

/* Sends the IDONTWANTs the RPC's messages called for, topic by topic (a
 * callback may have left a topic meanwhile: it is looked up again). */
static void idw_flush(lp2p_router *r, const gs_peer *from) {
  lp2p_bytes local[32], *ids = local;
  if (r->nidw > 32) {
    ids = lp2p_malloc(r->mem, r->nidw * sizeof(*ids));
  }
  for (size_t i = 0; ids && i < r->nidw; i++) {
    gs_msg *a = r->idw[i];
    size_t n = 0;
    if (!a) {
      continue; /* sent with an earlier one of its topic */
    }
    for (size_t j = i; j < r->nidw; j++) {
      gs_msg *b = r->idw[j];
      if (b && same_topic(a, b)) {
        ids[n++] = (lp2p_bytes){lp2p_gs_msg_id(b), b->id_len};
      }
    }
    gs_topic *t = lp2p_gs_topic_find(r, a->f.topic.data, a->f.topic.len);
    if (t && t->joined) {
      send_idontwant(r, t, from, ids, n);
    }
    for (size_t j = i + 1; j < r->nidw; j++) { /* the ids were views */
      gs_msg *b = r->idw[j];
      if (b && same_topic(a, b)) {
        r->idw[j] = NULL;
        lp2p_gs_msg_unref(r, b);
      }
    }
    r->idw[i] = NULL;
    lp2p_gs_msg_unref(r, a);
  }
  for (size_t i = 0; i < r->nidw; i++) {
    if (r->idw[i]) { /* out of memory above */
      lp2p_gs_msg_unref(r, r->idw[i]);
    }
  }
  if (ids != local) {
    lp2p_free(r->mem, ids);
  }
  r->nidw = 0;
}

/* A copy of a message we have: count it, once per peer, by what became
 * of the message: while validating, remember the peer (it will not get
 * the message back, and is scored with the verdict); valid, a mesh
 * delivery within the window; invalid, an invalid message. */
static void duplicate(lp2p_router *r, gs_seen *e, gs_peer *from, gs_topic *t,
                      lp2p_tstamp now) {
  r->st.msgs_duplicate++;
  if (lp2p_gs_seen_sent_by(e, from->serial)) {
    return;
  }
  record_sender(r, e, from->serial);
  if (e->status == GS_VALID) {
    lp2p_gs_score_duplicate(r, from, t, e->validated, now);
  } else if (e->status == GS_INVALID) {
    lp2p_gs_score_invalid(r, from, t);
  }
}

/* Checks that need no state: topic, size, signing policy. Returns the
 * joined topic, or NULL when the message is dropped (counted). */
static gs_topic *accept_topic(lp2p_router *r, const lp2p_rpc_msg *f) {
  gs_topic *t =
      f->topic.data ? lp2p_gs_topic_find(r, f->topic.data, f->topic.len) : NULL;
  if (!t || !t->joined) {
    r->st.msgs_unsubscribed_topic++;
    return NULL;
  }
  if (f->raw.len > r->s.limits.max_message_size) {
    r->st.msgs_too_large++;
    return NULL;
  }
  return t;
}

/* A message that fails the signing policy is never recorded as seen (a
 * forgery must not hide the real one); its sender is penalised. */
static void reject_invalid(lp2p_router *r, gs_peer *from, gs_topic *t) {
  r->st.msgs_invalid_signature++;
  lp2p_gs_score_invalid(r, from, t);
}

static bool claims_to_be_ours(const lp2p_router *r, const lp2p_rpc_msg *f) {
  return f->from.data && f->from.len == r->self.len &&
         memcmp(f->from.data, r->self.bytes, r->self.len) == 0;
}

/* As go (RejectSelfOrigin): a peer never has a reason to send us a
 * message of ours (honest peers do not send a message back to its
 * author), so one that claims our id is rejected, seen or not, and
 * charged as an invalid message; go's promise tracker counts it as
 * delivered. */
static void reject_self_origin(lp2p_router *r, gs_peer *from, gs_topic *t,
                               uint64_t id_hash) {
  r->st.msgs_rejected++;
  lp2p_gs_score_invalid(r, from, t);
  lp2p_gs_promise_fulfill(r, id_hash);
}

/* go's reason for a message failing the signing policy: checked before
 * its signature (checkSigningPolicy), then the signature itself. */
static const char *signature_reason(const lp2p_router *r, const lp2p_rpc_msg *f,
                                    int sig) {
  if (r->s.sign_policy == LP2P_STRICT_NO_SIGN) {
    return f->signature.data ? LP2P_TRACE_REJECT_UNEXPECTED_SIGNATURE
                             : LP2P_TRACE_REJECT_UNEXPECTED_AUTH_INFO;
  }
  if (!f->signature.data) {
    return LP2P_TRACE_REJECT_MISSING_SIGNATURE;
  }
  (void)sig; /* a malformed author or a signature that does not verify */
  return LP2P_TRACE_REJECT_INVALID_SIGNATURE;
}

static void handle_one(lp2p_router *r, gs_peer *from, const lp2p_rpc_msg *f,
                       lp2p_tstamp now) {
  uint8_t id[256];
  size_t cap =
      r->s.limits.max_id_len < sizeof(id) ? r->s.limits.max_id_len : sizeof(id);
  gs_topic *t = accept_topic(r, f);
  if (!t) {
    return;
  }
  int n = lp2p_gs_msg_compute_id(r, f, id, cap);
  if (n < 0) {
    reject_invalid(r, from, t);
    return;
  }
  if (r->cb.received) {
    lp2p_message view = {f->from,  f->data,         f->seqno,
                         f->topic, {id, (size_t)n}, &from->id};
    r->cb.received(r, &view, r->user);
  }
  lp2p_bytes idb = {id, (size_t)n};
  uint64_t h = lp2p_gs_id_hash(r, id, (size_t)n);
  if (claims_to_be_ours(r, f)) {
    lp2p_gs_trace_msg(r, LP2P_TRACE_REJECT_MESSAGE, &idb, &f->topic, &from->id,
                      LP2P_TRACE_REJECT_SELF_ORIGIN);
    reject_self_origin(r, from, t, h);
    return;
  }
  gs_seen *e = lp2p_gs_seen_find(r, h);
  if (e) {
    lp2p_gs_trace_msg(r, LP2P_TRACE_DUPLICATE_MESSAGE, &idb, &f->topic,
                      &from->id, NULL);
    duplicate(r, e, from, t, now);
    return;
  }
  /* verify before marking seen: a forgery must not hide the real one */
  int sig = lp2p_gs_msg_check_signature(r, f);
  if (sig == LP2P_ERR_NOMEM) {
    r->rpc_lost = true; /* ours, not the peer's fault: no penalty */
    return;
  }
  if (sig != 0) {
    lp2p_gs_trace_msg(r, LP2P_TRACE_REJECT_MESSAGE, &idb, &f->topic, &from->id,
                      signature_reason(r, f, sig));
    reject_invalid(r, from, t);
    return;
  }
  const char *refused =
      r->cb.validate ? lp2p_gs_validation_admit(r, t, now) : NULL;
  if (refused) {
    lp2p_gs_trace_msg(r, LP2P_TRACE_REJECT_MESSAGE, &idb, &f->topic, &from->id,
                      refused);
    /* as go: a message dropped before validation keeps the promise of
     * whoever advertised it (it came; we could not look) */
    lp2p_gs_promise_fulfill(r, h);
    return; /* not marked seen: a later copy may be processed */
  }
  gs_msg *m = lp2p_gs_msg_new(r, f, id, (size_t)n);
  e = m ? lp2p_gs_seen_add(r, h, now) : NULL;
  if (!e) {
    if (m) {
      lp2p_gs_msg_unref(r, m);
    }
    r->rpc_lost = true;
    return;
  }
  r->st.msgs_received++;
  e->source = from->serial;
  /* as go: the promise of whoever advertised it is kept when validation
   * starts, not when it ends: a validator slower than IWantFollowupTime
   * must not cost honest peers a broken promise */
  lp2p_gs_promise_fulfill(r, h);
  if (f->data.len >= r->s.params.idontwant_message_threshold) {
    idw_add(r, m);
  }
  lp2p_validation res = LP2P_VALIDATION_ACCEPT;
  if (r->cb.validate) {
    lp2p_message view;
    lp2p_gs_msg_view(m, &from->id, &view);
    res = r->cb.validate(r, &view, r->user);
  }
  if (res == LP2P_VALIDATION_PENDING) {
    e->pending = m;
    e->pending_from = from->id;
    lp2p_gs_validation_pending(r, t);
    return;
  }
  lp2p_gs_validation_done(r, m, e, &from->id, res, now);
  lp2p_gs_msg_unref(r, m);
}

void lp2p_gs_handle_messages(lp2p_router *r, gs_peer *from, lp2p_tstamp now) {
  for (size_t i = 0; i < r->rpc.msgs.len; i++) {
    handle_one(r, from, &r->rpc.msgs.items[i], now);
  }
  idw_flush(r, from);
}
