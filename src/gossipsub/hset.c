/* Sets of 64-bit keyed hashes of message ids, with the heartbeat each was
 * added in: how the router remembers a peer's IDONTWANTs for a few
 * heartbeats. Open addressing, linear probing, rebuilt on expiry. */
#include <sodium.h>
#include <string.h>

#include "base/mem.h"
#include "router.h"

uint64_t gs_id_hash(const lp2p_router *r, const uint8_t *id, size_t len) {
  uint64_t h;
  /* the seen map's seed keys this hash too: it is secret to us */
  crypto_shorthash((uint8_t *)&h, id, len, r->seen.seed);
  return h ? h : 1; /* 0 marks a free slot */
}

void gs_hset_free(lp2p_router *r, gs_hset *h) {
  lp2p_free(r->mem, h->keys);
  lp2p_free(r->mem, h->beat);
  memset(h, 0, sizeof(*h));
}

static size_t slot_of(const gs_hset *h, uint64_t key) {
  size_t i = key & (h->cap - 1);
  while (h->keys[i] && h->keys[i] != key) {
    i = (i + 1) & (h->cap - 1);
  }
  return i;
}

bool gs_hset_has(const gs_hset *h, uint64_t key) {
  return h->cap && h->keys[slot_of(h, key)] == key;
}

/* Rebuilds into `cap` slots; with `expire`, keeps only the keys added at
 * heartbeat `oldest` or later. */
static int rebuild(lp2p_router *r, gs_hset *h, size_t cap, bool expire,
                   uint32_t oldest) {
  gs_hset n = {0};
  if (cap) {
    n.keys = lp2p_calloc(r->mem, cap, sizeof(*n.keys));
    n.beat = lp2p_calloc(r->mem, cap, sizeof(*n.beat));
    if (!n.keys || !n.beat) {
      gs_hset_free(r, &n);
      return LP2P_ERR_NOMEM;
    }
  }
  n.cap = cap;
  for (size_t i = 0; i < h->cap; i++) {
    /* beats count up from 0; compare by distance so wrapping is safe */
    if (h->keys[i] && (!expire || (int32_t)(h->beat[i] - oldest) >= 0)) {
      size_t s = slot_of(&n, h->keys[i]);
      n.keys[s] = h->keys[i];
      n.beat[s] = h->beat[i];
      n.len++;
    }
  }
  gs_hset_free(r, h);
  *h = n;
  return 0;
}

int gs_hset_add(lp2p_router *r, gs_hset *h, uint64_t key, uint32_t beat) {
  if ((h->len + 1) * 2 > h->cap) {
    int rv = rebuild(r, h, h->cap ? h->cap * 2 : 16, false, 0);
    if (rv != 0) {
      return rv;
    }
  }
  size_t s = slot_of(h, key);
  h->len += h->keys[s] == 0;
  h->keys[s] = key;
  h->beat[s] = beat;
  return 0;
}

void gs_hset_expire(lp2p_router *r, gs_hset *h, uint32_t oldest) {
  if (h->len == 0) {
    if (h->cap) {
      gs_hset_free(r, h);
    }
    return;
  }
  size_t keep = 0;
  for (size_t i = 0; i < h->cap; i++) {
    keep += h->keys[i] && (int32_t)(h->beat[i] - oldest) >= 0;
  }
  if (keep == h->len) {
    return;
  }
  size_t cap = 16;
  while (keep * 2 > cap) {
    cap *= 2;
  }
  /* on failure the old entries simply stay one more heartbeat */
  rebuild(r, h, keep ? cap : 0, true, oldest);
}
