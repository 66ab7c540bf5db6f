/* The heartbeat: per-peer budgets reset, mesh maintenance (negative
 * scores out, graft below Dlo, outbound quota, prune above Dhi keeping the
 * best and the outbound, opportunistic grafting), fanout expiry and
 * replenishment, IHAVE gossip, cache shifts and direct peer upkeep. */
#include <string.h>

#include "backoff.h"
#include "base/mem.h"
#include "control.h"
#include "dontwant.h"
#include "heartbeat.h"
#include "mcache.h"
#include "message.h"
#include "partial.h"
#include "peer.h"
#include "queue.h"
#include "router.h"
#include "score.h"
#include "seen.h"
#include "topic.h"

/* A peer we may graft into `t`'s mesh. */
static bool graftable(const lp2p_router *r, const gs_topic *t, const gs_peer *p,
                      lp2p_tstamp now) {
  return lp2p_gs_peer_is_mesh(p->proto) && !p->direct &&
         !lp2p_gs_peers_has(&t->mesh, p) && lp2p_gs_score(r, p) >= 0 &&
         !lp2p_gs_backoff_active(t, &p->id, now);
}

/* Sorts peers by descending score; shuffled first so that ties (every
 * peer while scoring is off) fall in random order. Insertion sort: the
 * arrays are a few dozen peers. */
static void sort_by_score(lp2p_router *r, gs_peer **a, size_t n) {
  lp2p_pcg_shuffle(&r->rng, a, n, sizeof(*a));
  for (size_t i = 1; i < n; i++) {
    gs_peer *p = a[i];
    double s = lp2p_gs_score(r, p);
    size_t j = i;
    while (j > 0 && lp2p_gs_score(r, a[j - 1]) < s) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = p;
  }
}

/* Grafts up to `want` candidates (outbound ones only when asked), chosen
 * at random among the eligible: as go's getPeers, which shuffles and
 * ignores the score beyond the filter (sorting by it would always graft
 * the same high scorers and leave the rest of the topic out). */
static void graft_some(lp2p_router *r, gs_topic *t, size_t want,
                       bool outbound_only, lp2p_tstamp now) {
  gs_peer **cand = lp2p_malloc(r->mem, (t->peers.len + 1) * sizeof(*cand));
  size_t n = 0;
  if (!cand) {
    return; /* the next heartbeat tries again */
  }
  for (size_t i = 0; i < t->peers.len; i++) {
    gs_peer *p = t->peers.items[i];
    if (graftable(r, t, p, now) && (!outbound_only || p->outbound)) {
      cand[n++] = p;
    }
  }
  lp2p_pcg_shuffle(&r->rng, cand, n, sizeof(*cand));
  for (size_t i = 0; i < n && i < want; i++) {
    if (lp2p_gs_mesh_add(r, t, cand[i], now) == 0) {
      lp2p_gs_queue_graft(r, cand[i], t);
    }
  }
  lp2p_free(r->mem, cand);
}

/* Moves plst[i] to the front, shifting the others down. */
static void rotate_to_front(gs_peer **plst, size_t i) {
  gs_peer *p = plst[i];
  memmove(plst + 1, plst, i * sizeof(*plst));
  plst[0] = p;
}

/* At or above Dhi: keep Dscore best by score and D - Dscore at random,
 * with at least Dout outbound peers among the D kept; prune the rest. */
static void prune_excess(lp2p_router *r, gs_topic *t,
                         const lp2p_mesh_params *mp, lp2p_tstamp now) {
  size_t n = t->mesh.len, d = (size_t)mp->d;
  size_t dscore = (size_t)mp->d_score < d ? (size_t)mp->d_score : d;
  gs_peer **plst = lp2p_malloc(r->mem, n * sizeof(*plst));
  if (!plst) {
    return;
  }
  memcpy(plst, t->mesh.items, n * sizeof(*plst));
  sort_by_score(r, plst, n);
  lp2p_pcg_shuffle(&r->rng, plst + dscore, n - dscore, sizeof(*plst));
  size_t outbound = 0;
  for (size_t i = 0; i < d; i++) {
    outbound += plst[i]->outbound;
  }
  if (outbound < (size_t)mp->d_out) {
    /* bubble the kept outbound peers to the front, then bring in enough
     * outbound peers from beyond D */
    for (size_t i = 1, left = outbound; i < d && left; i++) {
      if (plst[i]->outbound) {
        rotate_to_front(plst, i);
        left--;
      }
    }
    size_t need = (size_t)mp->d_out - outbound;
    for (size_t i = d; i < n && need; i++) {
      if (plst[i]->outbound) {
        rotate_to_front(plst, i);
        need--;
      }
    }
  }
  for (size_t i = d; i < n; i++) {
    lp2p_gs_mesh_remove(r, t, plst[i], now);
    lp2p_gs_send_prune(r, plst[i], t, r->s.params.prune_backoff, true, now);
  }
  lp2p_free(r->mem, plst);
}

/* Every OpportunisticGraftTicks: when the median mesh score is below the
 * threshold, graft a few peers scoring above the median. */
static void opportunistic_graft(lp2p_router *r, gs_topic *t, lp2p_tstamp now) {
  size_t n = t->mesh.len;
  if (n < 2) {
    return;
  }
  gs_peer **plst = lp2p_malloc(r->mem, n * sizeof(*plst));
  if (!plst) {
    return;
  }
  memcpy(plst, t->mesh.items, n * sizeof(*plst));
  sort_by_score(r, plst, n);
  /* as go: the element at n / 2 in ascending order, the upper of the two
   * middle ones for an even mesh; the order here is descending */
  double median = lp2p_gs_score(r, plst[n - 1 - n / 2]);
  lp2p_free(r->mem, plst);
  if (median >= r->score.p.thresholds.opportunistic_graft) {
    return;
  }
  int left = r->s.params.opportunistic_graft_peers;
  lp2p_gs_peers_shuffle(r, &t->peers);
  for (size_t i = 0; i < t->peers.len && left > 0; i++) {
    gs_peer *p = t->peers.items[i];
    if (graftable(r, t, p, now) && lp2p_gs_score(r, p) > median &&
        lp2p_gs_mesh_add(r, t, p, now) == 0) {
      lp2p_gs_queue_graft(r, p, t);
      left--;
    }
  }
}

void lp2p_gs_rebalance(lp2p_router *r, gs_topic *t, lp2p_tstamp now,
                       bool opportunistic) {
  const lp2p_mesh_params *mp = lp2p_gs_topic_params(r, t);
  size_t n = t->mesh.len, nout = lp2p_gs_peers_outbound(&t->mesh);
  if ((int)n < mp->d_lo) {
    graft_some(r, t, (size_t)(mp->d - (int)n), false, now);
  } else if ((int)nout < mp->d_out) {
    graft_some(r, t, (size_t)(mp->d_out - (int)nout), true, now);
  }
  /* as go (#589): a mesh that reaches Dhi is pruned, else one filled to
   * Dhi by GRAFTs (accepted below Dhi) would never be rebalanced */
  if ((int)t->mesh.len >= mp->d_hi) {
    prune_excess(r, t, mp, now);
  }
  if (opportunistic) {
    opportunistic_graft(r, t, now);
  }
}

/* Mesh peers whose score went negative leave before rebalancing, so a
 * peer is not grafted and pruned in the same heartbeat. */
static void prune_negative(lp2p_router *r, gs_topic *t, lp2p_tstamp now) {
  for (size_t i = 0; i < t->mesh.len;) {
    gs_peer *p = t->mesh.items[i];
    if (lp2p_gs_score(r, p) < 0) {
      lp2p_gs_mesh_remove(r, t, p, now);
      lp2p_gs_send_prune(r, p, t, r->s.params.prune_backoff, true, now);
    } else {
      i++;
    }
  }
}

/* Tops the fanout up to D with peers at or above the publish threshold,
 * as go (getPeers filtered by publishThreshold): the peers we send our
 * own messages to must pass the same bar as flood publishing. */
void lp2p_gs_fanout_fill(lp2p_router *r, gs_topic *t) {
  const lp2p_mesh_params *mp = lp2p_gs_topic_params(r, t);
  if ((int)t->fanout.len >= mp->d) {
    return;
  }
  lp2p_gs_peers_shuffle(r, &t->peers);
  for (size_t i = 0; i < t->peers.len && (int)t->fanout.len < mp->d; i++) {
    gs_peer *p = t->peers.items[i];
    if (lp2p_gs_peer_is_mesh(p->proto) && !p->direct &&
        lp2p_gs_score(r, p) >= r->score.p.thresholds.publish &&
        !lp2p_gs_peers_has(&t->mesh, p)) {
      lp2p_gs_peers_add(r, &t->fanout, p);
    }
  }
}

/* As go's heartbeat: fanout peers whose score fell below the publish
 * threshold leave (those that left the topic left it at unsubscribe). */
static void fanout_drop_low(lp2p_router *r, gs_topic *t) {
  for (size_t i = 0; i < t->fanout.len;) {
    gs_peer *p = t->fanout.items[i];
    if (lp2p_gs_score(r, p) < r->score.p.thresholds.publish) {
      lp2p_gs_peers_remove(&t->fanout, p);
    } else {
      i++;
    }
  }
}

typedef struct id_list {
  lp2p_router *r;
  lp2p_bytes *ids;
  size_t len, cap;
} id_list;

static void collect_id(gs_msg *m, void *arg) {
  id_list *l = arg;
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    lp2p_bytes *ids = lp2p_reallocarray(l->r->mem, l->ids, cap, sizeof(*ids));
    if (!ids) {
      return;
    }
    l->ids = ids;
    l->cap = cap;
  }
  l->ids[l->len++] = (lp2p_bytes){lp2p_gs_msg_id(m), m->id_len};
}

/* The gossip to the chosen peers: IHAVE, and our groups' metadata
 * (lp2p_gs_partial_emit_gossip) to those with partial traffic on the
 * topic (the spec's "non-mesh topic peers"; go offers it only to peers
 * requesting parts, rust to those supporting them: both are here). As
 * go, a peer that asked for parts gets no IHAVE. */
static void send_gossip(lp2p_router *r, gs_topic *t, size_t n,
                        const lp2p_buf *ihave) {
  gs_peers partial = {NULL, 0, 0};
  bool gossips = lp2p_gs_partial_gossips(t);
  for (size_t i = 0; i < n; i++) {
    gs_peer *p = t->peers.items[i];
    if (gossips && lp2p_gs_partial_eligible(t, p)) {
      lp2p_gs_peers_add(r, &partial, p); /* out of memory: no gossip */
    }
    if (ihave->len && !(gossips && lp2p_gs_partial_wants_parts(t, p))) {
      lp2p_gs_queue_encoded(r, p, ihave->data, ihave->len, &r->st.ihave_sent);
    }
  }
  lp2p_gs_partial_emit_gossip(r, t, &partial);
  lp2p_gs_peers_free(r, &partial);
}

/* IHAVE with the ids of the gossip windows to max(Dlazy, GossipFactor x
 * eligible) peers outside the mesh and fanout. */
static void emit_gossip(lp2p_router *r, gs_topic *t) {
  id_list l = {r, NULL, 0, 0};
  lp2p_gs_mcache_each_gossip(r, t, collect_id, &l);
  if (l.len == 0 && !lp2p_gs_partial_gossips(t)) {
    lp2p_free(r->mem, l.ids);
    return;
  }
  if (l.len) {
    lp2p_pcg_shuffle(&r->rng, l.ids, l.len, sizeof(*l.ids));
  }
  if (l.len > (size_t)r->s.params.max_ihave_length) {
    l.len = (size_t)r->s.params.max_ihave_length;
  }
  lp2p_gs_peers_shuffle(r, &t->peers);
  size_t eligible = 0;
  for (size_t i = 0; i < t->peers.len; i++) {
    gs_peer *p = t->peers.items[i];
    /* move the eligible peers to the front, in the shuffled order */
    if (lp2p_gs_peer_is_mesh(p->proto) && !p->direct &&
        !lp2p_gs_peers_has(&t->mesh, p) && !lp2p_gs_peers_has(&t->fanout, p) &&
        lp2p_gs_score(r, p) >= r->score.p.thresholds.gossip) {
      t->peers.items[i] = t->peers.items[eligible];
      t->peers.items[eligible++] = p;
    }
  }
  size_t target = (size_t)(r->s.params.gossip_factor * (double)eligible);
  if (target < (size_t)lp2p_gs_topic_params(r, t)->d_lazy) {
    target = (size_t)lp2p_gs_topic_params(r, t)->d_lazy;
  }
  lp2p_buf *ctl = &r->ctl_scratch;
  lp2p_buf_truncate(ctl, 0);
  if (l.len && lp2p_gs_put_ihaves(r, ctl, t, l.ids, l.len) != 0) {
    lp2p_buf_truncate(ctl, 0);
  }
  send_gossip(r, t, eligible < target ? eligible : target, ctl);
  lp2p_free(r->mem, l.ids);
}

static void reset_peer_budgets(lp2p_router *r) {
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    gs_peer *p = e->value;
    p->ihaves = p->iasked = p->invalid_iwants = p->dontwants = 0;
    if (p->q.gossip.n) {
      lp2p_gs_queue_drop_ihaves(r, p);
    }
  }
  lp2p_gs_dontwant_expire(r);
  lp2p_gs_iwanted_expire(r);
}

/* Collects the topics first: maintenance may free some. */
static gs_topic **topic_list(lp2p_router *r, size_t *n) {
  gs_topic **list = lp2p_malloc(r->mem, (r->topics.count + 1) * sizeof(*list));
  size_t it = 0;
  lp2p_map_entry *e;
  *n = 0;
  while (list && (e = lp2p_map_next(&r->topics, &it)) != NULL) {
    list[(*n)++] = e->value;
  }
  return list;
}

static void maintain_topic(lp2p_router *r, gs_topic *t, lp2p_tstamp now,
                           bool opportunistic) {
  lp2p_gs_backoff_expire(r, t, now);
  if (t->joined) {
    prune_negative(r, t, now);
    lp2p_gs_rebalance(r, t, now, opportunistic);
  } else if (t->fanout_expiry != LP2P_TSTAMP_NEVER) {
    if (t->fanout_expiry <= now) {
      lp2p_gs_peers_free(r, &t->fanout);
      t->fanout_expiry = LP2P_TSTAMP_NEVER;
    } else {
      fanout_drop_low(r, t);
      lp2p_gs_fanout_fill(r, t);
    }
  }
  if (t->joined || t->fanout.len) {
    emit_gossip(r, t);
  }
  lp2p_gs_partial_expire(r, t); /* as go: after the gossip */
  lp2p_gs_topic_maybe_free(r, t);
}

static void connect_direct(lp2p_router *r) {
  size_t it = 0;
  lp2p_map_entry *e;
  while (r->cb.connect && (e = lp2p_map_next(&r->direct, &it)) != NULL) {
    const lp2p_peer_id *id = e->value;
    if (!lp2p_gs_peer_find(r, id)) {
      r->cb.connect(r, id, NULL, 0, r->user);
    }
  }
}

void lp2p_gs_heartbeat(lp2p_router *r, lp2p_tstamp now) {
  const lp2p_router_params *pp = &r->s.params;
  size_t n;
  r->beat++;
  r->st.heartbeats++;
  lp2p_gs_score_heartbeat(r, now);
  reset_peer_budgets(r);
  bool opportunistic = r->beat % (uint32_t)pp->opportunistic_graft_ticks == 0;
  gs_topic **topics = topic_list(r, &n);
  for (size_t i = 0; topics && i < n; i++) {
    maintain_topic(r, topics[i], now, opportunistic);
  }
  lp2p_free(r->mem, topics);
  lp2p_gs_mcache_shift(r);
  lp2p_gs_seen_expire(r, now);
  if (r->beat % (uint32_t)pp->direct_connect_ticks == 0) {
    connect_direct(r);
  }
}
