/* The seen cache: message ids (by keyed hash) for seen_ttl, in arrival
 * order so that expiry pops from the front, bounded by max_seen (the
 * oldest go first, counted). An entry also holds a message while the
 * application validates it. */
#include <string.h>

#include "base/mem.h"
#include "message.h"
#include "router.h"
#include "seen.h"
#include "validation.h"

/* Entries come from blocks of about a page, taken and given back in
 * arrival order, since entries expire in that order: allocated one by
 * one, a burst's entries lay scattered between its messages for
 * seen_ttl, and pinned every heap page the messages had used long after
 * those were freed (a node took 4 MiB more after 2,000 messages). */
#define SEEN_BLOCK 32

typedef struct gs_seen_block {
  struct gs_seen_block *next;
  uint32_t used, freed;
  gs_seen e[SEEN_BLOCK];
} gs_seen_block;

static gs_seen *entry_take(lp2p_router *r) {
  gs_seen_block *b = r->seen_blocks_tail;
  if (!b || b->used == SEEN_BLOCK) {
    b = lp2p_malloc(r->mem, sizeof(*b));
    if (!b) {
      return NULL;
    }
    b->next = NULL;
    b->used = b->freed = 0;
    *(r->seen_blocks_tail ? &r->seen_blocks_tail->next : &r->seen_blocks) = b;
    r->seen_blocks_tail = b;
  }
  gs_seen *e = &b->e[b->used++];
  memset(e, 0, sizeof(*e));
  return e;
}

/* Gives back the oldest entry taken (or the newest, when `newest`: an
 * entry that could not be added). The oldest block goes once every entry
 * it will ever hold is gone. */
static void entry_give_back(lp2p_router *r, bool newest) {
  gs_seen_block *b = r->seen_blocks;
  if (newest) {
    r->seen_blocks_tail->used--;
  } else {
    b->freed++;
  }
  if (b->freed == b->used &&
      (b->used == SEEN_BLOCK || b == r->seen_blocks_tail)) {
    r->seen_blocks = b->next;
    if (r->seen_blocks_tail == b) {
      r->seen_blocks_tail = NULL;
    }
    lp2p_free(r->mem, b);
  }
}

gs_seen *lp2p_gs_seen_find(const lp2p_router *r, uint64_t id_hash) {
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
    lp2p_gs_validation_settled(r, e->pending);
    lp2p_gs_msg_unref(r, e->pending);
    r->st.msgs_ignored++;
  }
  lp2p_free(r->mem, e->spill);
  entry_give_back(r, false);
}

static void seen_drop_head(lp2p_router *r) {
  lp2p_u64map_remove(&r->seen, r->seen_head->hash);
  seen_free_head(r);
}

gs_seen *lp2p_gs_seen_add(lp2p_router *r, uint64_t id_hash, lp2p_tstamp now) {
  if (r->seen.len >= r->s.limits.max_seen && r->seen_head) {
    seen_drop_head(r);
    r->st.seen_evicted++;
  }
  gs_seen *e = entry_take(r);
  if (!e) {
    return NULL;
  }
  e->hash = id_hash;
  e->first_seen = now;
  e->expiry = now + r->s.params.seen_ttl;
  if (lp2p_u64map_put(&r->seen, id_hash, e) != 0) {
    entry_give_back(r, true);
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

void lp2p_gs_seen_expire(lp2p_router *r, lp2p_tstamp now) {
  while (r->seen_head && r->seen_head->expiry <= now) {
    seen_drop_head(r);
  }
}

void lp2p_gs_seen_free_all(lp2p_router *r) {
  while (r->seen_head) {
    seen_free_head(r);
  }
  while (r->seen_blocks) { /* a block left empty by a failed add */
    gs_seen_block *b = r->seen_blocks;
    r->seen_blocks = b->next;
    lp2p_free(r->mem, b);
  }
  r->seen_blocks_tail = NULL;
  lp2p_u64map_free(&r->seen);
}

/* Did the peer of `serial` send us this message, first or as a copy? */
bool lp2p_gs_seen_sent_by(const gs_seen *e, uint32_t serial) {
  if (!e) {
    return false;
  }
  if (e->source == serial) {
    return true;
  }
  for (uint8_t i = 0; i < e->npeers; i++) {
    if (e->peers[i] == serial) {
      return true;
    }
  }
  for (uint32_t i = 0; e->spill && i < e->spill->n; i++) {
    if (e->spill->serials[i] == serial) {
      return true;
    }
  }
  return false;
}
