/* The seen cache: message ids (by keyed hash) for seen_ttl, in arrival
 * order so that expiry pops from the front, bounded by max_seen (the
 * oldest go first, counted). An entry also holds a message while the
 * application validates it. */
#include "base/mem.h"
#include "router.h"

gs_seen *gs_seen_find(const lp2p_router *r, uint64_t id_hash) {
  return lp2p_u64map_get(&r->seen, id_hash);
}

/* Unlinks and frees the oldest entry; the caller removes it from the map
 * (or frees the whole map). */
static void seen_free_head(lp2p_router *r) {
  gs_seen *e = r->seen_head;
  r->seen_head = e->next;
  if (!r->seen_head) {
    r->seen_tail = NULL;
  }
  if (e->pending) {
    /* validation never answered: the message is dropped */
    gs_msg_unref(r, e->pending);
    r->npending--;
    r->st.msgs_ignored++;
  }
  lp2p_free(r->mem, e->spill);
  lp2p_free(r->mem, e);
}

static void seen_drop_head(lp2p_router *r) {
  lp2p_u64map_remove(&r->seen, r->seen_head->hash);
  seen_free_head(r);
}

gs_seen *gs_seen_add(lp2p_router *r, uint64_t id_hash, lp2p_tstamp now) {
  if (r->seen.len >= r->s.limits.max_seen && r->seen_head) {
    seen_drop_head(r);
    r->st.seen_evicted++;
  }
  gs_seen *e = lp2p_calloc(r->mem, 1, sizeof(*e));
  if (!e) {
    return NULL;
  }
  e->hash = id_hash;
  e->first_seen = now;
  e->expiry = now + r->s.params.seen_ttl;
  if (lp2p_u64map_put(&r->seen, id_hash, e) != 0) {
    lp2p_free(r->mem, e);
    return NULL;
  }
  if (r->seen_tail) {
    r->seen_tail->next = e;
  } else {
    r->seen_head = e;
  }
  r->seen_tail = e;
  return e;
}

void gs_seen_expire(lp2p_router *r, lp2p_tstamp now) {
  while (r->seen_head && r->seen_head->expiry <= now) {
    seen_drop_head(r);
  }
}

void gs_seen_free_all(lp2p_router *r) {
  while (r->seen_head) {
    seen_free_head(r);
  }
  lp2p_u64map_free(&r->seen);
}
