/* The stream table of a muxer: stream pointers sorted by a 64-bit key,
 * found by binary search. Peers choose stream ids, so an ordered array
 * (rather than a hash table) keeps lookups O(log n) whatever ids they pick
 * and needs no random seed; ids mostly grow, so inserts mostly append. The
 * muxers' stream limits bound its size. */
#ifndef LP2P_NET_STAB_H
#define LP2P_NET_STAB_H

#include "lp2p/common.h"

typedef struct lp2p_stab_entry {
  uint64_t key;
  void *value;
} lp2p_stab_entry;

typedef struct lp2p_stab {
  lp2p_stab_entry *items;
  size_t len;
  size_t cap;
} lp2p_stab;

void *lp2p_stab_get(const lp2p_stab *t, uint64_t key);
/* Inserts a key that is absent. Returns 0 or LP2P_ERR_NOMEM. */
int lp2p_stab_put(lp2p_stab *t, const lp2p_mem *mem, uint64_t key, void *value);
/* Removes the entry and returns its value, or NULL when absent. */
void *lp2p_stab_remove(lp2p_stab *t, uint64_t key);
void lp2p_stab_free(lp2p_stab *t, const lp2p_mem *mem);

#endif
