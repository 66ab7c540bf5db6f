/* IDONTWANT: the message ids peers told us they do not want, in one table
 * for all peers (id hash -> serials of the peers that sent it). Forwarding
 * a message to its mesh then costs one lookup, in an entry its other mesh
 * peers' IDONTWANTs just touched, instead of one lookup per peer in a
 * table of each: in a large simulation those were a cache miss apiece. An
 * entry lives idontwant_message_ttl heartbeats after its last IDONTWANT;
 * each peer adds at most max_idontwant_length ids from each of at most
 * max_idontwant_messages RPCs per heartbeat (control.c), which bounds the
 * table. Serials are never reused, so a removed peer's serials
 * match nobody until their entries expire. */
#include "dontwant.h"
#include "base/mem.h"
#include "peer.h"
#include "router.h"

#define FIRST_CAP 12 /* a mesh of Dhi peers fits the first allocation */

const gs_dontwant *lp2p_gs_dontwant_find(const lp2p_router *r,
                                         uint64_t id_hash) {
  return r->dontwant.len ? lp2p_u64map_get(&r->dontwant, id_hash) : NULL;
}

bool lp2p_gs_dontwant_lists(const gs_dontwant *d, uint32_t serial) {
  for (uint32_t i = 0; d && i < d->n; i++) {
    if (d->serials[i] == serial) {
      return true;
    }
  }
  return false;
}

bool lp2p_gs_dontwant_has(const lp2p_router *r, const gs_peer *p,
                          uint64_t id_hash) {
  return p->dontwant_beat &&
         lp2p_gs_dontwant_lists(lp2p_gs_dontwant_find(r, id_hash), p->serial);
}

static gs_dontwant *grow(lp2p_router *r, gs_dontwant *d, uint64_t id_hash) {
  uint32_t cap = d ? d->cap * 2 : FIRST_CAP;
  gs_dontwant *g = lp2p_reallocarray(
      r->mem, d, 1, sizeof(*d) + (size_t)cap * sizeof(uint32_t));
  if (!g) {
    return NULL;
  }
  if (!d) {
    g->n = 0;
  }
  g->cap = cap;
  if (g != d && lp2p_u64map_put(&r->dontwant, id_hash, g) != 0) {
    if (d) {
      lp2p_u64map_remove(&r->dontwant, id_hash); /* it held the old d */
    }
    lp2p_free(r->mem, g);
    return NULL;
  }
  return g;
}

int lp2p_gs_dontwant_add(lp2p_router *r, gs_peer *p, uint64_t id_hash) {
  gs_dontwant *d = lp2p_u64map_get(&r->dontwant, id_hash);
  p->dontwant_beat = r->beat + 1;
  if (d && lp2p_gs_dontwant_lists(d, p->serial)) {
    d->beat = r->beat;
    return 0;
  }
  if (!d || d->n == d->cap) {
    d = grow(r, d, id_hash);
    if (!d) {
      return LP2P_ERR_NOMEM; /* the peer gets copies it did not want */
    }
  }
  d->beat = r->beat;
  d->serials[d->n++] = p->serial;
  return 0;
}

typedef struct expiry {
  lp2p_router *r;
  uint32_t oldest;
} expiry;

/* Frees an entry last refreshed before heartbeat `oldest`. */
static bool expired(uint64_t key, void *val, void *arg) {
  const expiry *x = arg;
  gs_dontwant *d = val;
  (void)key;
  /* beats count up and may wrap: compare by distance */
  if ((int32_t)(d->beat - x->oldest) >= 0) {
    return false;
  }
  lp2p_free(x->r->mem, d);
  return true;
}

void lp2p_gs_dontwant_expire(lp2p_router *r) {
  expiry x = {r, r->beat - (uint32_t)r->s.params.idontwant_message_ttl + 1};
  lp2p_u64map_remove_if(&r->dontwant, expired, &x);
}

static void free_entry(uint64_t key, void **val, void *arg) {
  (void)key;
  lp2p_free(((lp2p_router *)arg)->mem, *val);
}

void lp2p_gs_dontwant_free_all(lp2p_router *r) {
  lp2p_u64map_each(&r->dontwant, free_entry, r);
  lp2p_u64map_free(&r->dontwant);
}
