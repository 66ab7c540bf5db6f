/* Topics: the peers subscribed to each, our mesh or fanout for it, and
 * the backoff that stops a pruned peer from being grafted again too
 * soon. */
#include <string.h>

#include "base/mem.h"
#include "router.h"

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
  size_t it = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&t->backoff, &it)) != NULL) {
    lp2p_free(r->mem, e->value);
  }
  r->nbackoff -= t->backoff.count;
  lp2p_map_free(&t->backoff);
  lp2p_free(r->mem, t);
}

void lp2p_gs_topic_maybe_free(lp2p_router *r, gs_topic *t) {
  /* backoffs outlive a peer's subscription on purpose: they must hold
   * when it comes back */
  if (t->joined || t->peers.len || t->fanout_expiry != LP2P_TSTAMP_NEVER ||
      t->backoff.count || t->has_params) {
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
  lp2p_gs_event(r, LP2P_EV_PEER_UNSUBSCRIBED, p, t);
}

static gs_backoff *backoff_find(const gs_topic *t, const lp2p_peer_id *id) {
  return lp2p_map_get(&t->backoff, id->bytes, id->len);
}

lp2p_tstamp lp2p_gs_backoff_until(const gs_topic *t, const lp2p_peer_id *id) {
  gs_backoff *b = backoff_find(t, id);
  return b ? b->until : 0;
}

bool lp2p_gs_backoff_active(const gs_topic *t, const lp2p_peer_id *id,
                            lp2p_tstamp now) {
  return lp2p_gs_backoff_until(t, id) > now;
}

int lp2p_gs_backoff_add(lp2p_router *r, gs_topic *t, const lp2p_peer_id *id,
                        lp2p_tstamp until) {
  gs_backoff *b = backoff_find(t, id);
  if (b) {
    if (until > b->until) {
      b->until = until;
    }
    return 0;
  }
  if (r->nbackoff >= r->s.limits.max_backoffs) {
    /* peers that come and go under new ids must not grow the table */
    r->st.backoffs_dropped++;
    return 0;
  }
  if (!t->backoff_seeded) {
    lp2p_map_init(&t->backoff, r->mem, r->s.rand_fn, r->s.rand_user);
    t->backoff_seeded = true;
  }
  b = lp2p_malloc(r->mem, sizeof(*b));
  if (!b) {
    return LP2P_ERR_NOMEM;
  }
  b->until = until;
  b->peer = *id;
  if (lp2p_map_put(&t->backoff, b->peer.bytes, b->peer.len, b) != 0) {
    lp2p_free(r->mem, b);
    return LP2P_ERR_NOMEM;
  }
  r->nbackoff++;
  return 0;
}

typedef struct expiry {
  lp2p_router *r;
  lp2p_tstamp now;
} expiry;

static bool backoff_ended(void *value, void *arg) {
  gs_backoff *b = value;
  expiry *x = arg;
  if (b->until > x->now) {
    return false;
  }
  lp2p_free(x->r->mem, b);
  x->r->nbackoff--;
  return true;
}

void lp2p_gs_backoff_expire(lp2p_router *r, gs_topic *t, lp2p_tstamp now) {
  expiry x = {r, now};
  lp2p_map_remove_if(&t->backoff, backoff_ended, &x);
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
  }
  return rv;
}

void lp2p_gs_mesh_remove(lp2p_router *r, gs_topic *t, gs_peer *p,
                         lp2p_tstamp now) {
  (void)now;
  if (lp2p_gs_peers_remove(&t->mesh, p)) {
    lp2p_gs_score_prune(r, p, t);
    lp2p_gs_event(r, LP2P_EV_PRUNE, p, t);
  }
}
