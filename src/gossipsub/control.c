/* Control messages from a peer: IHAVE, IWANT, GRAFT, PRUNE and IDONTWANT,
 * handled in that order as go does, with the answers (IWANT, PRUNE,
 * messages) queued back to the peer. */
#include <string.h>

#include "backoff.h"
#include "base/mem.h"
#include "control.h"
#include "dontwant.h"
#include "lp2p/record.h"
#include "mcache.h"
#include "message.h"
#include "peer.h"
#include "queue.h"
#include "router.h"
#include "score.h"
#include "seen.h"
#include "topic.h"

/* Chooses up to prune_peers subscribers of `t` other than `p` with a
 * non-negative score for peer exchange, with our signed records of them
 * where the host has one. */
static size_t select_px(lp2p_router *r, const gs_peer *p, gs_topic *t,
                        lp2p_rpc_px *px, size_t cap) {
  size_t n = 0;
  lp2p_gs_peers_shuffle(r, &t->peers);
  for (size_t i = 0; i < t->peers.len && n < cap; i++) {
    gs_peer *q = t->peers.items[i];
    if (q == p || lp2p_gs_score(r, q) < 0 || !lp2p_gs_peer_is_mesh(q->proto)) {
      continue;
    }
    const uint8_t *rec = NULL;
    size_t rec_len = 0;
    if (r->cb.peer_record) {
      rec_len = r->cb.peer_record(r, &q->id, &rec, r->user);
    }
    px[n].peer_id = (lp2p_bytes){q->id.bytes, q->id.len};
    px[n].record = (lp2p_bytes){rec_len ? rec : NULL, rec_len};
    n++;
  }
  return n;
}

int lp2p_gs_send_prune(lp2p_router *r, gs_peer *p, gs_topic *t,
                       lp2p_tstamp backoff, bool px, lp2p_tstamp now) {
  lp2p_rpc_px peers[64];
  size_t npx = 0, cap = (size_t)r->s.params.prune_peers;
  uint64_t seconds;
  int rv = lp2p_gs_backoff_prune_sent(r, p, t, backoff, now, &seconds);
  if (rv != 0) {
    return rv;
  }
  if (p->proto < LP2P_MESHSUB_11) {
    /* meshsub 1.0 knows neither backoff nor PX */
    return lp2p_gs_queue_prune(r, p, t, 0, NULL, 0);
  }
  /* no PX to a peer with a negative score (v1.1 spec): it would hand our
   * good peers to the likely attacker */
  if (px && r->s.params.do_px && lp2p_gs_score(r, p) >= 0) {
    npx = select_px(r, p, t, peers, cap < 64 ? cap : 64);
  }
  return lp2p_gs_queue_prune(r, p, t, seconds, peers, npx);
}

/* The peer id a PX entry offers, when its signed peer record (if any)
 * verifies and names that id; as go, an entry with a bad record is
 * dropped whole rather than dialled by id. */
static int px_entry_id(const lp2p_rpc_px *x, lp2p_peer_id *id) {
  lp2p_peer_record rec;
  lp2p_envelope env;
  if (lp2p_peer_id_from_bytes(x->peer_id.data, x->peer_id.len, id) != 0) {
    return -1;
  }
  if (!x->record.data) {
    return 0;
  }
  if (lp2p_peer_record_open(x->record.data, x->record.len, &rec, &env) != 0 ||
      !lp2p_peer_id_equal(id, &rec.peer_id)) {
    return -1;
  }
  return 0;
}

/* Hands the peers a PRUNE offered to the connect callback. An entry
 * without a signed record (rust-libp2p sends none) is offered by id alone,
 * with record NULL: as go, which then connects only if its peerstore has
 * addresses for the id. */
static void take_px(lp2p_router *r, const lp2p_rpc_prune *pr) {
  size_t n = pr->npx;
  if (n > (size_t)r->s.params.prune_peers) {
    n = (size_t)r->s.params.prune_peers;
  }
  for (size_t i = 0; i < n && r->cb.connect; i++) {
    const lp2p_rpc_px *x = &r->rpc.px.items[pr->first_px + i];
    lp2p_peer_id id;
    if (px_entry_id(x, &id) != 0 || lp2p_peer_id_equal(&id, &r->self) ||
        lp2p_gs_peer_find(r, &id)) {
      continue;
    }
    r->st.px_received++;
    r->cb.connect(r, &id, x->record.data, x->record.data ? x->record.len : 0,
                  r->user);
  }
}

static void report_px(lp2p_router *r, const gs_peer *p, const gs_topic *t,
                      const lp2p_rpc_prune *pr) {
  lp2p_bytes ids[64];
  size_t n = 0;
  for (size_t i = 0; i < pr->npx && n < 64; i++) {
    const lp2p_rpc_px *x = &r->rpc.px.items[pr->first_px + i];
    if (x->peer_id.data) {
      ids[n++] = x->peer_id;
    }
  }
  if (r->cb.event) {
    lp2p_router_event ev = {LP2P_EV_PX, &p->id, {t->name, t->name_len}, ids, n};
    r->cb.event(r, &ev, r->user);
  }
}

static void handle_prune(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  for (size_t i = 0; i < r->rpc.prune.len; i++) {
    const lp2p_rpc_prune *pr = &r->rpc.prune.items[i];
    r->st.prune_received++;
    gs_topic *t = lp2p_gs_topic_find(r, pr->topic.data, pr->topic.len);
    if (!t || !t->joined) {
      continue;
    }
    /* as go: the backoff and PX of a PRUNE count even when the peer was
     * not in our mesh (a GRAFT of ours it refused) */
    lp2p_gs_mesh_remove(r, t, p, now);
    if (pr->npx) {
      report_px(r, p, t, pr);
    }
    lp2p_gs_backoff_prune_received(r, p, t, pr, now);
    if (pr->npx && lp2p_gs_score(r, p) >= r->score.p.thresholds.accept_px) {
      take_px(r, pr);
    } else if (pr->npx) {
      r->st.px_ignored++;
    }
  }
}

/* As go's handleIDontWant: past max_idontwant_messages RPCs with
 * IDONTWANT in a heartbeat, a peer's IDONTWANTs are ignored; of one RPC,
 * at most max_idontwant_length ids are read, over all its entries. */
static void handle_idontwant(lp2p_router *r, gs_peer *p) {
  size_t left = (size_t)r->s.params.max_idontwant_length;
  if (r->rpc.idontwant.len == 0) {
    return;
  }
  r->st.idontwant_received += r->rpc.idontwant.len;
  for (size_t i = 0; i < r->rpc.idontwant.len; i++) {
    p->idontwant_ids_received += r->rpc.idontwant.items[i].count;
  }
  if (p->dontwants >= r->s.params.max_idontwant_messages) {
    return;
  }
  p->dontwants++;
  for (size_t i = 0; i < r->rpc.idontwant.len && left; i++) {
    const lp2p_rpc_ids *e = &r->rpc.idontwant.items[i];
    for (size_t j = 0; j < e->count && left; j++, left--) {
      const lp2p_bytes *id = &r->rpc.ids.items[e->first + j];
      lp2p_gs_dontwant_add(r, p, lp2p_gs_id_hash(r, id->data, id->len));
    }
  }
}

/* Heartbeats during which an id we asked for is not asked for again, of
 * any peer: until IWantFollowupTime judges the promise, a second IWANT
 * only brings a copy we are about to have. (go asks at every IHAVE; a
 * node catching up on a backlog of IHAVEs then asks one peer for one id
 * more than GossipRetransmission times, and that peer ignores it.) */
static uint32_t iwant_hold_beats(const lp2p_router *r) {
  lp2p_tstamp hb = r->s.params.heartbeat_interval;
  return (uint32_t)((r->s.params.iwant_followup_time + hb - 1) / hb);
}

/* The table's bound: 16 heartbeats' worth of one peer's IHAVE budget.
 * Past it, ids are asked for without being remembered, as go does. */
static size_t iwanted_cap(const lp2p_router *r) {
  return 16 * (size_t)r->s.params.max_ihave_length;
}

static void remember_asked(lp2p_router *r, const lp2p_bytes *ids, size_t n) {
  for (size_t i = 0; i < n && r->iwanted.len < iwanted_cap(r); i++) {
    uint64_t h = lp2p_gs_id_hash(r, ids[i].data, ids[i].len);
    /* out of memory only means the id may be asked for again */
    lp2p_u64map_put(&r->iwanted, h, (void *)(uintptr_t)(r->beat + 1));
  }
}

static bool asked_long_ago(uint64_t key, void *val, void *arg) {
  const lp2p_router *r = arg;
  (void)key;
  return (uint32_t)(uintptr_t)val - 1 + iwant_hold_beats(r) <= r->beat;
}

void lp2p_gs_iwanted_expire(lp2p_router *r) {
  if (r->iwanted.len) {
    lp2p_u64map_remove_if(&r->iwanted, asked_long_ago, r);
  }
}

/* Collects the ids of one IHAVE we have not seen, not asked for lately
 * and not collected yet (`asked` holds the hashes of those), up to
 * `cap`. */
static size_t wanted_ids(lp2p_router *r, const lp2p_rpc_ids *ih,
                         lp2p_bytes *want, size_t n, size_t cap,
                         lp2p_u64map *asked) {
  size_t max_len = (size_t)r->s.params.max_ihave_length;
  for (size_t j = 0; j < ih->count && j < max_len && n < cap; j++) {
    const lp2p_bytes *id = &r->rpc.ids.items[ih->first + j];
    uint64_t h = lp2p_gs_id_hash(r, id->data, id->len);
    /* `asked` maps to itself: any non-NULL value marks presence */
    if (!lp2p_u64map_get(asked, h) && !lp2p_gs_seen_find(r, h) &&
        !lp2p_u64map_get(&r->iwanted, h) &&
        lp2p_u64map_put(asked, h, asked) == 0) {
      want[n++] = *id;
    }
  }
  return n;
}

static int handle_ihave(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  if (r->rpc.ihave.len == 0) {
    return 0;
  }
  r->st.ihave_received += r->rpc.ihave.len;
  if (lp2p_gs_score(r, p) < r->score.p.thresholds.gossip ||
      ++p->ihaves > r->s.params.max_ihave_messages ||
      p->iasked >= r->s.params.max_ihave_length) {
    return 0;
  }
  size_t budget = (size_t)(r->s.params.max_ihave_length - p->iasked), n = 0;
  lp2p_bytes *want = lp2p_malloc(r->mem, r->rpc.ids.len * sizeof(*want) + 1);
  lp2p_u64map asked;
  lp2p_u64map_init(&asked, r->mem);
  if (!want) {
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < r->rpc.ihave.len; i++) {
    const lp2p_rpc_ids *ih = &r->rpc.ihave.items[i];
    gs_topic *t = lp2p_gs_topic_find(r, ih->topic.data, ih->topic.len);
    if (t && t->joined) {
      n = wanted_ids(r, ih, want, n, r->rpc.ids.len, &asked);
    }
  }
  lp2p_u64map_free(&asked);
  /* ask in random order, and only as much as the budget allows */
  lp2p_pcg_shuffle(&r->rng, want, n, sizeof(*want));
  if (n > budget) {
    n = budget;
  }
  p->iasked += (int)n;
  remember_asked(r, want, n);
  int rv = n ? lp2p_gs_queue_ids(r, p, LP2P_CTL_IWANT, want, n) : 0;
  lp2p_gs_promise_add(r, p, want, n, now);
  lp2p_free(r->mem, want);
  return rv;
}

/* As go's handleGraft: the PRUNEs that answer an RPC's GRAFTs carry PX
 * only when none of its GRAFTs names a topic we did not join (PX would
 * hand our peers to a prober) or comes from a direct, backed-off or
 * negative peer. */
static bool grafts_earn_px(lp2p_router *r, const gs_peer *p, lp2p_tstamp now) {
  if (p->direct || lp2p_gs_score(r, p) < 0) {
    return false;
  }
  for (size_t i = 0; i < r->rpc.graft.len; i++) {
    const lp2p_bytes *topic = &r->rpc.graft.items[i];
    gs_topic *t = lp2p_gs_topic_find(r, topic->data, topic->len);
    if (!t || !t->joined ||
        (!lp2p_gs_peers_has(&t->mesh, p) &&
         lp2p_gs_backoff_grafts_early(r, p, t, now))) {
      return false;
    }
  }
  return true;
}

/* nim-libp2p's and go's rules for one GRAFT, in order; `px`: the PRUNE of
 * a full mesh may carry PX. */
static int handle_one_graft(lp2p_router *r, gs_peer *p, gs_topic *t, bool px,
                            lp2p_tstamp now) {
  const lp2p_mesh_params *mp = lp2p_gs_topic_params(r, t);
  lp2p_tstamp backoff = r->s.params.prune_backoff;
  if (lp2p_gs_peers_has(&t->mesh, p)) {
    return 0;
  }
  if (p->direct) {
    /* direct peers are never meshed: the peering is not reciprocal */
    return lp2p_gs_send_prune(r, p, t, backoff, false, now);
  }
  if (lp2p_gs_backoff_grafts_early(r, p, t, now)) {
    /* grafting while backing off: penalised, the backoff refreshed */
    lp2p_gs_backoff_penalise_graft(r, p, t, now);
    return lp2p_gs_send_prune(r, p, t, backoff, false, now);
  }
  double score = lp2p_gs_score(r, p);
  if (score < 0) {
    /* no GRAFT from negative peers; the PRUNE keeps the protocol right */
    return lp2p_gs_send_prune(r, p, t, backoff, false, now);
  }
  /* as go: at or above Dhi only peers we dialled may join (a sybil
   * cannot dial its way into a full mesh); the heartbeat trims the mesh
   * back to D */
  if ((int)t->mesh.len < mp->d_hi || p->outbound) {
    return lp2p_gs_mesh_add(r, t, p, now);
  }
  return lp2p_gs_send_prune(r, p, t, backoff, px, now);
}

/* As go, which checks no subscription in handleGraft: a GRAFT from a
 * peer that did not announce the topic is handled like any other, and
 * stands for the announcement (a mesh holds subscribers only here: that
 * is what takes a departing peer out of every mesh). False when the
 * peer cannot take one more topic (counted) or out of memory. */
static bool graft_subscribes(lp2p_router *r, gs_peer *p, gs_topic *t) {
  if (!lp2p_gs_peer_subscribed(p, t)) {
    lp2p_gs_subscribe_peer(r, p, t);
  }
  return lp2p_gs_peer_subscribed(p, t);
}

static int handle_graft(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  bool px = r->rpc.graft.len && grafts_earn_px(r, p, now);
  for (size_t i = 0; i < r->rpc.graft.len; i++) {
    const lp2p_bytes *topic = &r->rpc.graft.items[i];
    r->st.graft_received++;
    gs_topic *t = lp2p_gs_topic_find(r, topic->data, topic->len);
    /* GRAFTs for topics we did not join are ignored (spam hardening) */
    if (!t || !t->joined || !graft_subscribes(r, p, t)) {
      continue;
    }
    int rv = handle_one_graft(r, p, t, px, now);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

/* The ids of the RPC's IWANTs from entry i, id j on. */
static uint64_t iwant_ids_from(const lp2p_rpc *rpc, size_t i, size_t j) {
  uint64_t n = 0;
  for (; i < rpc->iwant.len; i++, j = 0) {
    n += rpc->iwant.items[i].count - j;
  }
  return n;
}

static int handle_iwant(lp2p_router *r, gs_peer *p) {
  size_t max_invalid = r->s.limits.max_invalid_iwants;
  r->st.iwant_received += r->rpc.iwant.len;
  if (r->rpc.iwant.len == 0 ||
      lp2p_gs_score(r, p) < r->score.p.thresholds.gossip) {
    return 0;
  }
  for (size_t i = 0; i < r->rpc.iwant.len; i++) {
    const lp2p_rpc_ids *e = &r->rpc.iwant.items[i];
    for (size_t j = 0; j < e->count; j++) {
      const lp2p_bytes *id = &r->rpc.ids.items[e->first + j];
      if ((size_t)p->invalid_iwants > max_invalid) {
        /* nim-libp2p stops answering for this heartbeat */
        r->st.iwant_skipped += iwant_ids_from(&r->rpc, i, j);
        return 0;
      }
      uint64_t h = lp2p_gs_id_hash(r, id->data, id->len);
      if (lp2p_gs_dontwant_has(r, p, h)) {
        continue; /* it told us it has it */
      }
      gs_msg *m = lp2p_gs_mcache_get(r, h);
      if (!m || lp2p_gs_mcache_count_iwant(r, m, p) >
                    (uint32_t)r->s.params.gossip_retransmission) {
        p->invalid_iwants++;
        r->st.iwant_invalid++;
        if (m) {
          r->st.iwant_over_retransmission++;
        } else {
          r->st.iwant_not_found++;
        }
        continue;
      }
      r->st.iwant_answered++;
      if (lp2p_gs_queue_msg(r, p, m) == LP2P_ERR_NOMEM) {
        return LP2P_ERR_NOMEM; /* a full queue drops (counted) and goes on */
      }
    }
  }
  return 0;
}

void lp2p_gs_handle_control(lp2p_router *r, gs_peer *p, lp2p_tstamp now) {
  if (!lp2p_gs_peer_is_mesh(p->proto)) {
    return; /* floodsub has no control messages */
  }
  /* as go's handleControl: IHAVE, IWANT, GRAFT, PRUNE, IDONTWANT. A
   * GRAFT and a PRUNE of one topic in one RPC then leave the peer out of
   * the mesh with the PRUNE's backoff, and no penalty (PRUNE first would
   * make the GRAFT one made while backing off). Out of memory here only
   * loses an answer; the peer will ask again. */
  handle_ihave(r, p, now);
  handle_iwant(r, p);
  handle_graft(r, p, now);
  handle_prune(r, p, now);
  handle_idontwant(r, p);
}
