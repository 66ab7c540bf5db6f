/* Topics: the peers subscribed to each, and our mesh or fanout for it
 * (the backoffs each topic holds are backoff.c's). */
#include <string.h>

#include "backoff.h"
#include "base/mem.h"
#include "partial.h"
#include "peer.h"
#include "router.h"
#include "score.h"
#include "topic.h"
#include "trace.h"

gs_topic *lp2p_gs_topic_find(const lp2p_router *r, const uint8_t *name,
                             size_t len) {
  gs_topic *t = r->last_topic;
  if (t && t->name_len == len && memcmp(t->name, name, len) == 0) {
    return t;
  }
  t = lp2p_map_get(&r->topics, name, len);
  if (t) {
    /* a cache, not state: routers are never const objects */
    ((lp2p_router *)r)->last_topic = t;
  }
  return t;
}

gs_topic *lp2p_gs_topic_get(lp2p_router *r, const uint8_t *name, size_t len,
                            bool ours) {
  gs_topic *t = lp2p_gs_topic_find(r, name, len);
  if (t) {
    return t;
  }
  if (!ours && r->topics.count >= r->s.limits.max_topics) {
    return NULL;
  }
  t = lp2p_calloc(r->mem, 1, sizeof(*t) + len);
  if (!t) {
    return NULL;
  }
  memcpy(t->name, name, len);
  t->name_len = len;
  t->tscore = lp2p_gs_tscore_find(r, name, len);
  t->fanout_expiry = LP2P_TSTAMP_NEVER;
  if (lp2p_map_put(&r->topics, t->name, len, t) != 0) {
    lp2p_free(r->mem, t);
    return NULL;
  }
  return t;
}

void lp2p_gs_topic_free(lp2p_router *r, gs_topic *t) {
  lp2p_gs_peers_free(r, &t->peers);
  lp2p_gs_peers_free(r, &t->mesh);
  lp2p_gs_peers_free(r, &t->fanout);
  lp2p_gs_backoff_free(r, t);
  lp2p_gs_partial_topic_free(r, t);
  lp2p_free(r->mem, t);
}

void lp2p_gs_topic_maybe_free(lp2p_router *r, gs_topic *t) {
  /* backoffs outlive a peer's subscription on purpose: they must hold
   * when it comes back */
  if (t->joined || t->peers.len || t->fanout_expiry != LP2P_TSTAMP_NEVER ||
      t->backoff.count || t->has_params || t->has_validation ||
      lp2p_gs_partial_keeps(t)) {
    return;
  }
  lp2p_map_remove(&r->topics, t->name, t->name_len);
  if (r->last_topic == t) {
    r->last_topic = NULL;
  }
  lp2p_gs_topic_free(r, t);
}

const lp2p_mesh_params *lp2p_gs_topic_params(const lp2p_router *r,
                                             const gs_topic *t) {
  return t->has_params ? &t->params : &r->s.params.mesh;
}

void lp2p_gs_event(lp2p_router *r, lp2p_router_event_type type,
                   const gs_peer *p, const gs_topic *t) {
  if (r->cb.event) {
    lp2p_router_event ev = {type, &p->id, {t->name, t->name_len}, NULL, 0};
    r->cb.event(r, &ev, r->user);
  }
}

int lp2p_gs_subscribe_peer(lp2p_router *r, gs_peer *p, gs_topic *t) {
  if (lp2p_gs_peer_subscribed(p, t)) {
    return 0;
  }
  if (p->ntopics >= r->s.limits.max_topics_per_peer) {
    r->st.subscriptions_dropped++;
    return 0;
  }
  if (p->ntopics == p->cap_topics) {
    size_t cap = p->cap_topics ? p->cap_topics * 2 : 4;
    gs_topic **topics =
        lp2p_reallocarray(r->mem, p->topics, cap, sizeof(*topics));
    if (!topics) {
      return LP2P_ERR_NOMEM;
    }
    p->topics = topics;
    p->cap_topics = cap;
  }
  int rv = lp2p_gs_peers_add(r, &t->peers, p);
  if (rv != 0) {
    return rv;
  }
  p->topics[p->ntopics++] = t;
  lp2p_gs_event(r, LP2P_EV_PEER_SUBSCRIBED, p, t);
  return 0;
}

void lp2p_gs_unsubscribe_peer(lp2p_router *r, gs_peer *p, gs_topic *t) {
  for (size_t i = 0; i < p->ntopics; i++) {
    if (p->topics[i] == t) {
      p->topics[i] = p->topics[--p->ntopics];
      break;
    }
  }
  lp2p_gs_peers_remove(&t->peers, p);
  lp2p_gs_peers_remove(&t->fanout, p);
  lp2p_gs_partial_unsubscribed(r, p, t);
  lp2p_gs_event(r, LP2P_EV_PEER_UNSUBSCRIBED, p, t);
}

int lp2p_gs_mesh_add(lp2p_router *r, gs_topic *t, gs_peer *p, lp2p_tstamp now) {
  if (lp2p_gs_peers_has(&t->mesh, p)) {
    return 0;
  }
  int rv = lp2p_gs_peers_add(r, &t->mesh, p);
  if (rv == 0) {
    lp2p_gs_peers_remove(&t->fanout, p);
    lp2p_gs_score_graft(r, p, t, now);
    lp2p_gs_event(r, LP2P_EV_GRAFT, p, t);
    lp2p_gs_trace_peer(r, LP2P_TRACE_GRAFT, &p->id, t->name, t->name_len);
  }
  return rv;
}

void lp2p_gs_mesh_forget(lp2p_router *r, gs_topic *t, gs_peer *p) {
  if (lp2p_gs_peers_remove(&t->mesh, p)) {
    lp2p_gs_score_prune(r, p, t);
    lp2p_gs_event(r, LP2P_EV_PRUNE, p, t);
  }
}

void lp2p_gs_mesh_remove(lp2p_router *r, gs_topic *t, gs_peer *p,
                         lp2p_tstamp now) {
  (void)now;
  if (r->trace && lp2p_gs_peers_has(&t->mesh, p)) {
    lp2p_gs_trace_peer(r, LP2P_TRACE_PRUNE, &p->id, t->name, t->name_len);
  }
  lp2p_gs_mesh_forget(r, t, p);
}
