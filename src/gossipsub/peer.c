/* Peer lookup and the small peer sets the router keeps per topic (mesh,
 * fanout, subscribers). Sets are arrays: a mesh holds about a dozen
 * peers, and scanning a dozen pointers beats hashing them. */
#include <string.h>

#include "base/mem.h"
#include "peer.h"
#include "router.h"
#include "topic.h"

gs_peer *lp2p_gs_peer_find(const lp2p_router *r, const lp2p_peer_id *id) {
  gs_peer *p = r->last_peer;
  if (p && lp2p_peer_id_equal(&p->id, id)) {
    return p;
  }
  p = lp2p_map_get(&r->peers, id->bytes, id->len);
  if (p) {
    /* a cache, not state: routers are never const objects */
    ((lp2p_router *)r)->last_peer = p;
  }
  return p;
}

gs_peer *lp2p_gs_peer_find_serial(const lp2p_router *r, uint32_t serial) {
  return lp2p_u64map_get(&r->serials, serial);
}

bool lp2p_gs_peer_is_mesh(lp2p_pubsub_proto proto) {
  return proto != LP2P_FLOODSUB;
}

bool lp2p_gs_peer_relays_all(const gs_peer *p) {
  return !lp2p_gs_peer_is_mesh(p->proto) || p->direct;
}

bool lp2p_gs_peers_has(const gs_peers *s, const gs_peer *p) {
  for (size_t i = 0; i < s->len; i++) {
    if (s->items[i] == p) {
      return true;
    }
  }
  return false;
}

int lp2p_gs_peers_add(lp2p_router *r, gs_peers *s, gs_peer *p) {
  if (lp2p_gs_peers_has(s, p)) {
    return 0;
  }
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    gs_peer **items = lp2p_reallocarray(r->mem, s->items, cap, sizeof(*items));
    if (!items) {
      return LP2P_ERR_NOMEM;
    }
    s->items = items;
    s->cap = cap;
  }
  s->items[s->len++] = p;
  return 0;
}

bool lp2p_gs_peers_remove(gs_peers *s, const gs_peer *p) {
  for (size_t i = 0; i < s->len; i++) {
    if (s->items[i] == p) {
      s->items[i] = s->items[--s->len];
      return true;
    }
  }
  return false;
}

void lp2p_gs_peers_free(lp2p_router *r, gs_peers *s) {
  lp2p_free(r->mem, s->items);
  s->items = NULL;
  s->len = s->cap = 0;
}

void lp2p_gs_peers_shuffle(lp2p_router *r, gs_peers *s) {
  lp2p_pcg_shuffle(&r->rng, s->items, s->len, sizeof(*s->items));
}

size_t lp2p_gs_peers_outbound(const gs_peers *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->len; i++) {
    n += s->items[i]->outbound;
  }
  return n;
}

bool lp2p_gs_peer_subscribed(const gs_peer *p, const gs_topic *t) {
  for (size_t i = 0; i < p->ntopics; i++) {
    if (p->topics[i] == t) {
      return true;
    }
  }
  return false;
}
